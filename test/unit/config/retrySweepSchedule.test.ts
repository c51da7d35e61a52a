import { describe, expect, it } from 'vitest';
import { nextOccurrence } from '../../../dev/functionsHost/timerHost';
import { bindingExpression, readSettings } from '../../../shared/config/settings';

/**
 * functions/retrySweep registers its timer with `bindingExpression('RETRY_SWEEP_SCHEDULE')`: the
 * `%RETRY_SWEEP_SCHEDULE%` expression when the app setting exists, else the default itself (an
 * expression the host cannot resolve would disable the function at start-up).
 */
const EVERY_FIVE_MINUTES = '0 */5 * * * *';

describe('the retry sweep schedule when RETRY_SWEEP_SCHEDULE is unset', () => {
  it('binds the timer to the default, every 5 minutes, when the setting is absent or empty', () => {
    expect(bindingExpression('RETRY_SWEEP_SCHEDULE', {})).toBe(EVERY_FIVE_MINUTES);
    expect(bindingExpression('RETRY_SWEEP_SCHEDULE', { RETRY_SWEEP_SCHEDULE: '' })).toBe(EVERY_FIVE_MINUTES);
    expect(readSettings({}).RETRY_SWEEP_SCHEDULE).toBe(EVERY_FIVE_MINUTES);
    expect(readSettings({ RETRY_SWEEP_SCHEDULE: '' }).RETRY_SWEEP_SCHEDULE).toBe(EVERY_FIVE_MINUTES);
  });

  it('binds the timer to the app setting when it is set', () => {
    expect(bindingExpression('RETRY_SWEEP_SCHEDULE', { RETRY_SWEEP_SCHEDULE: '0 */15 * * * *' })).toBe('%RETRY_SWEEP_SCHEDULE%');
    expect(readSettings({ RETRY_SWEEP_SCHEDULE: '0 */15 * * * *' }).RETRY_SWEEP_SCHEDULE).toBe('0 */15 * * * *');
  });

  it('the default fires on every fifth minute at second 0, UTC (six NCRONTAB fields, seconds first)', () => {
    const schedule = bindingExpression('RETRY_SWEEP_SCHEDULE', {});
    let at = new Date('2026-11-23T09:03:17.000Z');
    const fires: string[] = [];
    for (let i = 0; i < 4; i++) fires.push((at = nextOccurrence(schedule, at)).toISOString());
    expect(fires).toEqual(['2026-11-23T09:05:00.000Z', '2026-11-23T09:10:00.000Z', '2026-11-23T09:15:00.000Z', '2026-11-23T09:20:00.000Z']);
  });
});
