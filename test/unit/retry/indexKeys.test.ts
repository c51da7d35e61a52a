import { describe, expect, it } from 'vitest';
import { interleave, needsLooking, CONFIG_SETTLE_MS } from '../../../shared/retry/candidates';
import { entriesDropped, indexEntriesFor, timeBucket } from '../../../shared/retry/indexKeys';
import { FIRST_DELAY_MS, MAX_DELAY_MS, nextAttemptAt, REPLAY_WINDOW_MS } from '../../../shared/retry/schedule';
import { isRecordedReplay } from '../../../shared/pipeline/incoming';
import type { TransactionRecord } from '../../../shared/storage/transactions';

const AT = '2026-11-23T12:00:00.000Z';

function row(overrides: Partial<TransactionRecord> = {}): TransactionRecord {
  return {
    tenantId: 'acme/eu',
    transactionId: 'tx|1',
    status: 'Failed',
    code: 'DSEX040',
    message: '[DSEX040] …',
    retryClass: 'retried',
    source: 'Service',
    attempts: 2,
    firstAttemptAt: AT,
    lastAttemptAt: AT,
    firstFailureAt: AT,
    nextAttemptAt: '2026-11-23T12:04:00.000Z',
    connectorId: 'exchange-main',
    configVersion: 7,
    payload: '{}',
    history: [],
    archived: false,
    expired: false,
    ...overrides,
  };
}

describe('retry index keys', () => {
  it('files a retried row once, in the hour bucket of nextAttemptAt, keyed by time then row then attempt', () => {
    expect(indexEntriesFor(row())).toEqual([
      { partitionKey: 'due|2026-11-23T12', rowKey: '2026-11-23T12:04:00.000Z|acme%2Feu|tx%7C1|2', tenantId: 'acme/eu', transactionId: 'tx|1', attempts: 2 },
    ]);
  });

  it('files a fix-config row under its connector and version, and at its window end to expire it', () => {
    const entries = indexEntriesFor(row({ retryClass: 'fix-config', nextAttemptAt: undefined }));
    const windowEnd = new Date(Date.parse(AT) + REPLAY_WINDOW_MS).toISOString();
    expect(entries.map((e) => [e.partitionKey, e.rowKey])).toEqual([
      [timeBucket(new Date(windowEnd)), `${windowEnd}|acme%2Feu|tx%7C1|2`],
      ['cfg|acme%2Feu|exchange-main', '0000000007|tx%7C1|2'],
    ]);
  });

  it('a leased fix-config row waits on its lease only, so a config entry cannot send it twice', () => {
    const entries = indexEntriesFor(row({ retryClass: 'fix-config', replayQueuedAt: AT, nextAttemptAt: '2026-11-23T12:30:00.000Z' }));
    expect(entries.map((e) => e.partitionKey)).toEqual(['due|2026-11-23T12']);
  });

  it('never files a backoff beyond the replay window', () => {
    const [entry] = indexEntriesFor(row({ nextAttemptAt: '2026-12-31T00:00:00.000Z' }));
    expect(entry!.rowKey.startsWith(new Date(Date.parse(AT) + REPLAY_WINDOW_MS).toISOString())).toBe(true);
  });

  it('files nothing for rows the sweep must never act on', () => {
    expect(indexEntriesFor(row({ retryClass: 'n/a' }))).toEqual([]);
    expect(indexEntriesFor(row({ status: 'Succeeded', retryClass: undefined }))).toEqual([]);
    expect(indexEntriesFor(row({ archived: true }))).toEqual([]);
    expect(indexEntriesFor(row({ expired: true }))).toEqual([]);
  });

  it('a new attempt never shares a key with the previous state, so removing old entries is always safe', () => {
    const before = indexEntriesFor(row({ retryClass: 'fix-config', nextAttemptAt: undefined }));
    const after = indexEntriesFor(row({ retryClass: 'fix-config', nextAttemptAt: undefined, attempts: 3 }));
    expect(entriesDropped(before, after)).toEqual(before);
    expect(entriesDropped(before, before)).toEqual([]);
  });
});

describe('backoff schedule', () => {
  it('doubles from 2 minutes, capped at 6 hours, within ±25 % jitter, and honours Retry-After', () => {
    const at = new Date(AT);
    const delay = (attempts: number, random: number, retryAfter?: number) => nextAttemptAt('retried', attempts, at, retryAfter, () => random)!.getTime() - at.getTime();
    expect(delay(1, 0.5)).toBe(FIRST_DELAY_MS);
    expect(delay(3, 0.5)).toBe(4 * FIRST_DELAY_MS);
    expect(delay(1, 0)).toBe(0.75 * FIRST_DELAY_MS);
    expect(delay(1, 1)).toBe(1.25 * FIRST_DELAY_MS);
    expect(delay(30, 0.5)).toBe(MAX_DELAY_MS);
    expect(delay(1, 0.5, 600)).toBe(600_000);
    expect(nextAttemptAt('fix-config', 1, at)).toBeUndefined();
    expect(nextAttemptAt('n/a', 1, at)).toBeUndefined();
  });
});

describe('sweep plumbing', () => {
  it('looks at a connector whose version changed, or that changed too recently to trust an earlier pass', () => {
    const connector = { tenantId: 't', connectorId: 'c', configVersion: 4, updatedAt: AT };
    const later = (ms: number) => new Date(Date.parse(AT) + ms).toISOString();
    expect(needsLooking(connector, undefined)).toBe(true);
    expect(needsLooking(connector, { version: 3, sweptAt: later(CONFIG_SETTLE_MS * 2) })).toBe(true);
    expect(needsLooking(connector, { version: 4, sweptAt: later(60_000) })).toBe(true);
    expect(needsLooking(connector, { version: 4, sweptAt: later(CONFIG_SETTLE_MS + 1) })).toBe(false);
  });

  it('interleaves sources so neither starves the other', async () => {
    async function* from(items: string[]) {
      yield* items;
    }
    const out: string[] = [];
    for await (const item of interleave([from(['t1', 't2', 't3']), from(['c1'])])) out.push(item);
    expect(out).toEqual(['t1', 'c1', 't2', 't3']);
  });

  it('recognises a replay whose attempt the row already holds as a second copy', () => {
    const message = (messageId: string) => ({ body: {}, messageId, applicationProperties: { transactionId: 'tx:1', source: 'Timer job' } });
    expect(isRecordedReplay(message('tx:1:3'), row({ attempts: 2 }))).toBe(false);
    expect(isRecordedReplay(message('tx:1:3'), row({ attempts: 3 }))).toBe(true);
    expect(isRecordedReplay({ body: {}, messageId: 'tx:1:3' }, row({ attempts: 3 }))).toBe(false);
    expect(isRecordedReplay(message('other:3'), row({ attempts: 3 }))).toBe(false);
  });
});
