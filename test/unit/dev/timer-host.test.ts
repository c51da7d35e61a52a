import type { Timer } from '@azure/functions';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RegisteredFunction } from '../../../dev/functionsHost/fakeCore';
import { startTimerHost, type TimerHost } from '../../../dev/functionsHost/timerHost';

/**
 * The local host's timers, on vitest's fake clock: after a run the next occurrence is the first one
 * after now (missed occurrences are skipped, not fired back to back), and the invocation after a gap
 * says isPastDue, as the Functions host does.
 */
const T0 = Date.UTC(2025, 0, 1, 0, 0, 0);
let host: TimerHost | undefined;

function timerFunction(schedule: string, handler: (timer: Timer) => unknown): RegisteredFunction {
  return {
    metadata: { name: 'tick', bindings: { timer: { type: 'timerTrigger', direction: 'in', schedule } } },
    handler: (timer) => handler(timer as Timer),
  };
}

beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
});
afterEach(() => {
  host?.close();
  host = undefined;
  vi.useRealTimers();
});

describe('timer host schedule', () => {
  it('skips occurrences missed during a slow run and marks the next invocation past due', async () => {
    const runs: Array<{ at: number; timer: Timer }> = [];
    const fn = timerFunction('* * * * * *', async (timer) => {
      runs.push({ at: Date.now() - T0, timer });
      if (runs.length === 1) await new Promise((r) => setTimeout(r, 3_500)); // misses 00:02, 00:03, 00:04
    });
    host = startTimerHost({ functions: [fn], env: {}, log: () => undefined });
    await vi.advanceTimersByTimeAsync(8_000);

    expect(runs.map((r) => r.at)).toEqual([1_000, 5_000, 6_000, 7_000, 8_000]);
    expect(runs.map((r) => r.timer.isPastDue)).toEqual([false, true, false, false, false]);
    expect(runs[1]!.timer.scheduleStatus).toEqual({
      last: new Date(T0 + 1_000).toISOString(),
      next: new Date(T0 + 5_000).toISOString(),
      lastUpdated: new Date(T0 + 5_000).toISOString(),
    });
  });

  it('runs one invocation at a time: an occurrence is never fired while the previous run is still going', async () => {
    let running = 0;
    let overlapped = false;
    const fn = timerFunction('*/2 * * * * *', async () => {
      running += 1;
      overlapped ||= running > 1;
      await new Promise((r) => setTimeout(r, 2_500));
      running -= 1;
    });
    host = startTimerHost({ functions: [fn], env: {}, log: () => undefined });
    await vi.advanceTimersByTimeAsync(20_000);
    expect(overlapped).toBe(false);
  });

  it('marks an invocation past due when its timer fires after a later occurrence already passed (a suspended process)', async () => {
    const runs: Array<{ at: number; timer: Timer }> = [];
    let skew = 0; // what the wall clock gained while the process was suspended
    const fn = timerFunction('* * * * * *', (timer) => {
      runs.push({ at: Date.now() + skew - T0, timer });
    });
    host = startTimerHost({ functions: [fn], env: {}, log: () => undefined, now: () => new Date(Date.now() + skew) });
    await vi.advanceTimersByTimeAsync(1_000);
    skew = 2_500; // the 00:01 → 00:02 timer fires at 00:04.5 by the wall clock
    await vi.advanceTimersByTimeAsync(1_000);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(runs.map((r) => r.timer.isPastDue)).toEqual([false, true, false]);
    expect(runs.map((r) => r.at)).toEqual([1_000, 4_500, 5_000]);
  });

  it('resolves a %SETTING% schedule from the app settings', async () => {
    const runs: number[] = [];
    const fn = timerFunction('%SWEEP_SCHEDULE%', () => void runs.push(Date.now() - T0));
    host = startTimerHost({ functions: [fn], env: { SWEEP_SCHEDULE: '*/5 * * * * *' }, log: () => undefined });
    await vi.advanceTimersByTimeAsync(12_000);
    expect(runs).toEqual([5_000, 10_000]);
    expect(() => startTimerHost({ functions: [fn], env: {}, log: () => undefined })).toThrow(/SWEEP_SCHEDULE/);
  });
});
