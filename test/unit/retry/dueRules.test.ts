import { describe, expect, it } from 'vitest';
import { decide, type DueContext } from '../../../shared/retry/dueRules';
import { REPLAY_WINDOW_MS } from '../../../shared/retry/schedule';
import type { TransactionRecord } from '../../../shared/storage/transactions';

const NOW = new Date('2026-11-23T12:00:00.000Z');
const minutes = (n: number) => new Date(NOW.getTime() + n * 60_000).toISOString();

function row(overrides: Partial<TransactionRecord> = {}): TransactionRecord {
  return {
    tenantId: 'contoso',
    transactionId: 'tx-1',
    status: 'Failed',
    code: 'DSEX040',
    message: '[DSEX040] Transient error from Microsoft Graph',
    retryClass: 'retried',
    source: 'Service',
    attempts: 1,
    firstAttemptAt: minutes(-10),
    lastAttemptAt: minutes(-10),
    firstFailureAt: minutes(-10),
    nextAttemptAt: minutes(-1),
    connectorId: 'exchange-main',
    configVersion: 3,
    appointmentId: 'APT-1',
    appointmentVersion: 2,
    payload: '{"appointmentId":"APT-1"}',
    history: [],
    archived: false,
    expired: false,
    ...overrides,
  };
}

const ctx = (overrides: Partial<DueContext> = {}): DueContext => ({ now: NOW, connectorVersion: 3, latestAppointmentVersion: 2, ...overrides });

describe('due rules', () => {
  it('retried: due once nextAttemptAt has passed, not before', () => {
    expect(decide(row({ nextAttemptAt: minutes(-1) }), ctx())).toEqual({ action: 'replay' });
    expect(decide(row({ nextAttemptAt: NOW.toISOString() }), ctx())).toEqual({ action: 'replay' });
    expect(decide(row({ nextAttemptAt: minutes(1) }), ctx())).toEqual({ action: 'skip', reason: 'not-due' });
  });

  it('undiagnosed (DSUNK001) follows the same backoff as retried', () => {
    const unknown = { code: 'DSUNK001', retryClass: 'undiagnosed' as const };
    expect(decide(row({ ...unknown, nextAttemptAt: minutes(-1) }), ctx())).toEqual({ action: 'replay' });
    expect(decide(row({ ...unknown, nextAttemptAt: minutes(5) }), ctx())).toEqual({ action: 'skip', reason: 'not-due' });
  });

  it('fix-config: due at once when the connector version differs from the recorded one, never while it is the same', () => {
    const fix = { code: 'DSEX001', status: 'InvalidBackOfficeSettings' as const, retryClass: 'fix-config' as const, nextAttemptAt: undefined };
    expect(decide(row({ ...fix, configVersion: 3 }), ctx({ connectorVersion: 3 }))).toEqual({ action: 'skip', reason: 'not-due' });
    expect(decide(row({ ...fix, configVersion: 3 }), ctx({ connectorVersion: 4 }))).toEqual({ action: 'replay' });
    // A connector deleted and created again restarts its versions: "differs", not "is greater".
    expect(decide(row({ ...fix, configVersion: 3 }), ctx({ connectorVersion: 1 }))).toEqual({ action: 'replay' });
    // No connector at the failure (recorded 0); once one exists it is worth a try.
    expect(decide(row({ ...fix, configVersion: 0 }), ctx({ connectorVersion: 1 }))).toEqual({ action: 'replay' });
    // The connector is gone: nothing a replay could fix.
    expect(decide(row({ ...fix, configVersion: 3 }), ctx({ connectorVersion: undefined }))).toEqual({ action: 'skip', reason: 'not-due' });
  });

  it('n/a rows and settled rows are never due', () => {
    expect(decide(row({ code: 'DSEX021', status: 'Skipped', retryClass: 'n/a' }), ctx())).toEqual({ action: 'skip', reason: 'settled' });
    expect(decide(row({ status: 'Succeeded', code: undefined, retryClass: undefined }), ctx())).toEqual({ action: 'skip', reason: 'settled' });
  });

  it('archived rows are never due, whatever their class or age', () => {
    expect(decide(row({ archived: true }), ctx())).toEqual({ action: 'skip', reason: 'archived' });
    expect(decide(row({ archived: true, firstFailureAt: minutes(-60 * 24 * 30) }), ctx())).toEqual({ action: 'skip', reason: 'archived' });
  });

  it('nothing replays 14 days after the first failure: the row is expired instead', () => {
    const firstFailureAt = new Date(NOW.getTime() - REPLAY_WINDOW_MS).toISOString();
    expect(decide(row({ firstFailureAt }), ctx())).toEqual({ action: 'expire' });
    expect(decide(row({ firstFailureAt: new Date(NOW.getTime() - REPLAY_WINDOW_MS + 1).toISOString() }), ctx())).toEqual({ action: 'replay' });
    expect(decide(row({ firstFailureAt, retryClass: 'fix-config' }), ctx({ connectorVersion: 3 }))).toEqual({ action: 'expire' });
    expect(decide(row({ expired: true }), ctx())).toEqual({ action: 'skip', reason: 'already-expired' });
  });

  it('a row whose appointment has a newer version taken up is superseded', () => {
    expect(decide(row({ appointmentVersion: 2 }), ctx({ latestAppointmentVersion: 3 }))).toEqual({ action: 'skip', reason: 'superseded' });
    expect(decide(row({ appointmentVersion: 2 }), ctx({ latestAppointmentVersion: 2 }))).toEqual({ action: 'replay' });
    expect(decide(row({ appointmentVersion: 2 }), ctx({ latestAppointmentVersion: undefined }))).toEqual({ action: 'replay' });
  });

  it('a leased row (enqueued, replay not recorded yet) is due again only when its lease ran out', () => {
    const leased = { replayQueuedAt: minutes(-30), nextAttemptAt: minutes(1) };
    expect(decide(row(leased), ctx())).toEqual({ action: 'skip', reason: 'not-due' });
    expect(decide(row({ ...leased, nextAttemptAt: minutes(-1) }), ctx())).toEqual({ action: 'replay' });
    // A leased fix-config row is not re-sent just because the version still differs.
    expect(decide(row({ ...leased, retryClass: 'fix-config', configVersion: 2 }), ctx({ connectorVersion: 3 }))).toEqual({ action: 'skip', reason: 'not-due' });
  });

  it('a row without its message cannot be replayed', () => {
    expect(decide(row({ payload: '' }), ctx())).toEqual({ action: 'skip', reason: 'no-payload' });
  });
});
