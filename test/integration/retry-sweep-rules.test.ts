import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startAzuriteTables, type AzuriteTables } from '../../dev/azurite';
import { buildDependencies, type AppDependencies } from '../../shared/app/dependencies';
import { readSettings } from '../../shared/config/settings';
import { recordAttempt, type AttemptOutcome } from '../../shared/pipeline/recordAttempt';
import { saveIndexed, type IndexedStores } from '../../shared/retry/indexedSave';
import { indexEntriesFor, type IndexKey } from '../../shared/retry/indexKeys';
import { REPLAY_WINDOW_MS } from '../../shared/retry/schedule';
import { totalSkipped, type SweepSummary } from '../../shared/retry/summary';
import { RETRY_GIVEN_UP_EVENT } from '../../shared/retry/sweep';
import { RetryIndexStore } from '../../shared/storage/retryIndex';
import { createTableProvider, TABLES } from '../../shared/storage/tableClients';
import type { TransactionRecord, TransactionStore } from '../../shared/storage/transactions';
import { CapturingPublisher, CapturingTelemetry, minutesFromNow, sweepOnce, type SweepRun } from '../support/retrySweep';
import { TEST_PROTECTION_KEY } from '../support/exchangeHarness';
import { EntityCounter, entitiesRead } from '../support/entityCounter';

/**
 * The due rules one by one, against Azurite: rows are written by the pipeline's own record step (so
 * the index is what the pipeline leaves), the sweep runs on a chosen clock, and replays are captured.
 */
let azurite: AzuriteTables;
let deps: AppDependencies;
let telemetry: CapturingTelemetry;
let publisher: CapturingPublisher;

const TENANT = 'contoso';
const CONNECTOR = 'exchange-main';
const LEASE_MINUTES = 30;

beforeEach(async () => {
  azurite = await startAzuriteTables({ inMemory: true });
  telemetry = new CapturingTelemetry();
  publisher = new CapturingPublisher();
  deps = buildDependencies(
    readSettings({ TablesConnection: azurite.connectionString, SECRET_PROTECTION_KEY: TEST_PROTECTION_KEY, RETRY_SWEEP_LEASE_MINUTES: String(LEASE_MINUTES) }),
    { telemetry },
  );
  await deps.connectors.save({ tenantId: TENANT, connectorId: CONNECTOR, type: 'Exchange', name: 'Main', allowedToSend: true });
});

afterEach(async () => {
  await azurite.close();
});

const FAILURES = {
  transient: { code: 'DSEX040', status: 'Failed', retryClass: 'retried' },
  unknown: { code: 'DSUNK001', status: 'Failed', retryClass: 'undiagnosed' },
  expiredSecret: { code: 'DSEX001', status: 'InvalidBackOfficeSettings', retryClass: 'fix-config' },
  alreadyDeleted: { code: 'DSEX021', status: 'Skipped', retryClass: 'n/a' },
} as const;

/** One attempt through the pipeline's record step, on a chosen clock. */
async function record(
  transactionId: string,
  failure: (typeof FAILURES)[keyof typeof FAILURES] | 'succeeded',
  at = new Date(),
  stores: IndexedStores = deps,
): Promise<TransactionRecord> {
  const outcome: AttemptOutcome = {
    tenantId: TENANT,
    transactionId,
    source: 'Service',
    payload: JSON.stringify({ appointmentId: `A-${transactionId}` }),
    connectorId: CONNECTOR,
    connectorType: 'Exchange',
    configVersion: 1,
    appointmentId: `A-${transactionId}`,
    appointmentVersion: 1,
    action: 'create',
    ...(failure === 'succeeded' ? { status: 'Succeeded', message: 'created' } : { ...failure, message: `[${failure.code}] test` }),
  };
  return recordAttempt(stores, outcome, () => at);
}

async function indexContents(): Promise<IndexKey[]> {
  const client = await deps.tables.table(TABLES.retryIndex);
  const out: IndexKey[] = [];
  for await (const e of client.listEntities()) if (!e.partitionKey!.startsWith('sweep')) out.push({ partitionKey: e.partitionKey!, rowKey: e.rowKey! });
  return out;
}

const keysOf = (records: TransactionRecord[]) => records.flatMap((r) => indexEntriesFor(r).map(({ partitionKey, rowKey }) => ({ partitionKey, rowKey })));
const row = async (id: string) => (await deps.transactions.get(TENANT, id))!.record;

async function sweepAt(now: Date, settings: Partial<AppDependencies['settings']> = {}): Promise<SweepRun> {
  const run = await sweepOnce(deps, { replayPublisher: publisher, now: () => now, settings: { ...deps.settings, ...settings } });
  expectBalanced(run.summary);
  return run;
}

function expectBalanced(summary: SweepSummary): void {
  expect(summary.enqueued + summary.expired + summary.failed + totalSkipped(summary)).toBe(summary.due);
}

describe('the record step keeps the retry index in step with the row', () => {
  it('files a failure, moves it on the next attempt, and drops it on success', async () => {
    const first = await record('t1', FAILURES.transient);
    expect(await indexContents()).toEqual(keysOf([first]));
    const second = await record('t1', FAILURES.transient);
    expect(await indexContents()).toEqual(keysOf([second]));
    await record('t1', 'succeeded');
    expect(await indexContents()).toEqual([]);
  });

  it('files a fix-config row under its connector and at its window end; n/a and successes are not filed', async () => {
    const fix = await record('f1', FAILURES.expiredSecret);
    await record('n1', FAILURES.alreadyDeleted);
    await record('s1', 'succeeded');
    expect((await indexContents()).sort((a, b) => a.partitionKey.localeCompare(b.partitionKey))).toEqual(keysOf([fix]).sort((a, b) => a.partitionKey.localeCompare(b.partitionKey)));
    expect((await indexContents()).map((k) => k.partitionKey.slice(0, 4)).sort()).toEqual(['cfg|', 'due|']);
  });
});

describe('which rows are due', () => {
  it('retried and undiagnosed rows: after their backoff, once, then leased', async () => {
    const transient = await record('r1', FAILURES.transient);
    const unknown = await record('u1', FAILURES.unknown);
    expect((await sweepAt(new Date())).summary.due).toBe(0);

    const later = new Date(Math.max(Date.parse(transient.nextAttemptAt!), Date.parse(unknown.nextAttemptAt!)) + 1_000);
    const run = await sweepAt(later);
    expect(run.summary).toMatchObject({ due: 2, enqueued: 2 });
    expect(publisher.ids()).toEqual(['r1', 'u1']);
    expect(publisher.sent.every((s) => s.source === 'Timer job')).toBe(true);
    expect(await row('r1')).toMatchObject({ replayQueuedAt: later.toISOString(), nextAttemptAt: new Date(later.getTime() + LEASE_MINUTES * 60_000).toISOString(), attempts: 1 });
    expect(run.lines.join('\n')).toContain('Retry sweep: due=2 enqueued=2 expired=0 failed=0 skipped=0');

    // Leased: the next pass does not send them again.
    expect((await sweepAt(new Date(later.getTime() + 60_000))).summary.due).toBe(0);
    expect(publisher.sent).toHaveLength(2);
  });

  it('fix-config rows: not while the connector is unchanged; at once after its config version changes', async () => {
    await record('f1', FAILURES.expiredSecret);
    const quiet = await sweepAt(minutesFromNow(1));
    expect(quiet.summary).toMatchObject({ due: 0, connectorsLookedAt: 1 });
    // Once a pass swept this version after the edit settled, the connector is no longer looked at.
    expect((await sweepAt(minutesFromNow(120))).summary.connectorsLookedAt).toBe(1);
    expect((await sweepAt(minutesFromNow(125))).summary.connectorsLookedAt).toBe(0);

    await deps.connectors.save({ tenantId: TENANT, connectorId: CONNECTOR, type: 'Exchange', name: 'Main', allowedToSend: true, clientSecret: 'fixed' });
    const run = await sweepAt(minutesFromNow(1));
    expect(run.summary).toMatchObject({ due: 1, enqueued: 1, connectorsLookedAt: 1 });
    expect(publisher.ids()).toEqual(['f1']);
  });

  it('n/a rows: never', async () => {
    await record('n1', FAILURES.alreadyDeleted);
    expect((await sweepAt(minutesFromNow(60 * 24))).summary.due).toBe(0);
    expect(publisher.sent).toEqual([]);
  });

  it('archived rows: never — the stale entry an archive leaves is skipped with its reason and removed', async () => {
    const failed = await record('a1', FAILURES.transient);
    const found = await deps.transactions.get(TENANT, 'a1');
    await deps.transactions.save({ ...found!.record, archived: true }, found!.etag); // as the Errors page archives
    const run = await sweepAt(new Date(Date.parse(failed.nextAttemptAt!) + 1_000));
    expect(run.summary).toMatchObject({ due: 1, enqueued: 0, skipped: { archived: 1 } });
    expect(publisher.sent).toEqual([]);
    expect(await indexContents()).toEqual([]);
  });

  it('rows 14 days past their first failure: marked expired and kept, the give-up reported with the errorCode', async () => {
    const firstFailure = new Date(Date.now() - REPLAY_WINDOW_MS - 60_000);
    await record('old-retried', FAILURES.transient, firstFailure);
    await record('old-fix', FAILURES.expiredSecret, firstFailure);
    const run = await sweepAt(new Date());
    expect(run.summary).toMatchObject({ due: 2, enqueued: 0, expired: 2 });
    expect(publisher.sent).toEqual([]);
    expect(await row('old-retried')).toMatchObject({ expired: true, status: 'Failed', code: 'DSEX040', nextAttemptAt: undefined });
    expect(await row('old-fix')).toMatchObject({ expired: true, status: 'InvalidBackOfficeSettings', code: 'DSEX001' });
    expect(telemetry.named(RETRY_GIVEN_UP_EVENT).map((e) => e.properties.errorCode).sort()).toEqual(['DSEX001', 'DSEX040']);
    expect(telemetry.named(RETRY_GIVEN_UP_EVENT).map((e) => e.properties.reason)).toEqual(['window-ended', 'window-ended']);
    expect(await row('old-retried')).toMatchObject({ givenUpReason: 'window-ended' });
    expect(run.lines.some((l) => l.startsWith('errorCode=DSEX001 ') && l.includes('retry window ended'))).toBe(true);
    expect(await indexContents()).toEqual([]);
  });

  it('rows superseded by a newer version of the appointment: skipped with their reason, never sent', async () => {
    await deps.versions.claim(TENANT, CONNECTOR, 'A-s1', 1);
    const failed = await record('s1', FAILURES.transient);
    await deps.versions.claim(TENANT, CONNECTOR, 'A-s1', 2);
    const run = await sweepAt(new Date(Date.parse(failed.nextAttemptAt!) + 1_000));
    expect(run.summary).toMatchObject({ due: 1, enqueued: 0, expired: 0, skipped: { superseded: 1 } });
    expect(publisher.sent).toEqual([]);
    expect(await indexContents()).toEqual([]);
    // Given up like an expired row: kept as it failed, marked so the Errors API shows it will not be retried, reported.
    expect(await row('s1')).toMatchObject({ status: 'Failed', code: 'DSEX040', attempts: 1, expired: true, givenUpReason: 'superseded', nextAttemptAt: undefined });
    expect(telemetry.named(RETRY_GIVEN_UP_EVENT).map((e) => e.properties)).toEqual([
      expect.objectContaining({ errorCode: 'DSEX040', reason: 'superseded', transactionId: 's1', tenantId: TENANT, connectorId: CONNECTOR, attempts: '1' }),
    ]);
    expect(run.lines.some((l) => l.startsWith('errorCode=DSEX040 ') && l.includes('transactionId=s1') && l.includes('givenUpReason=superseded'))).toBe(true);
    // Nothing brings it back: no entry, so later passes never read it again.
    expect((await sweepAt(new Date(Date.parse(failed.nextAttemptAt!) + 60 * 60_000))).summary.due).toBe(0);
  });

  it('rows with no stored message to replay: given up like an expired row, with the errorCode and the reason', async () => {
    const failed = await recordAttempt(
      deps,
      { tenantId: TENANT, transactionId: 'p1', source: 'Service', payload: '', status: 'Failed', code: 'DSUNK001', retryClass: 'undiagnosed', message: '[DSUNK001] test' },
      () => new Date(),
    );
    const run = await sweepAt(new Date(Date.parse(failed.nextAttemptAt!) + 1_000));
    expect(run.summary).toMatchObject({ due: 1, enqueued: 0, expired: 0, skipped: { 'no-payload': 1 } });
    expect(publisher.sent).toEqual([]);
    expect(await row('p1')).toMatchObject({ status: 'Failed', code: 'DSUNK001', expired: true, givenUpReason: 'no-payload' });
    expect(telemetry.named(RETRY_GIVEN_UP_EVENT).map((e) => e.properties)).toEqual([expect.objectContaining({ errorCode: 'DSUNK001', reason: 'no-payload', transactionId: 'p1' })]);
    expect(await indexContents()).toEqual([]);
  });
});

describe('the sweep reads what is due, not the Transactions table', () => {
  it('one pass reads exactly the due rows and their index entries, whatever else the table holds', async () => {
    const counter = new EntityCounter();
    const tables = createTableProvider({ connectionString: azurite.connectionString, additionalPolicies: [{ position: 'perCall', policy: counter.policy }] });
    const counted = buildDependencies(deps.settings, { telemetry, tables });
    const hourAgo = new Date(Date.now() - 60 * 60_000);
    const due = ['d1', 'd2', 'd3', 'd4', 'd5'];
    for (const id of due) await record(id, FAILURES.transient, hourAgo);
    for (let i = 0; i < 20; i++) await record(`backing-off-${i}`, FAILURES.transient);
    for (let i = 0; i < 5; i++) await record(`fix-${i}`, FAILURES.expiredSecret);
    for (let i = 0; i < 5; i++) await record(`done-${i}`, i % 2 ? 'succeeded' : FAILURES.alreadyDeleted);

    const { result: run, reads } = await counter.measure(() => sweepOnce(counted, { replayPublisher: publisher }));
    expect(run.summary).toMatchObject({ due: due.length, enqueued: due.length });
    expect(entitiesRead(reads, { table: TABLES.transactions, kind: 'query' })).toBe(0);
    expect(entitiesRead(reads, { table: TABLES.transactions, kind: 'point' })).toBe(due.length);
    expect(entitiesRead(reads, { table: TABLES.retryIndex })).toBe(due.length);
  });
});

describe('a bounded pass', () => {
  it('looks at no more than RETRY_SWEEP_MAX_ROWS entries; the rest wait for the next pass', async () => {
    const past = new Date(Date.now() - 60 * 60_000);
    for (const id of ['b1', 'b2', 'b3', 'b4', 'b5']) await record(id, FAILURES.transient, past);
    const first = await sweepAt(new Date(), { RETRY_SWEEP_MAX_ROWS: 2 });
    expect(first.summary).toMatchObject({ due: 2, enqueued: 2, truncated: true });
    expect((await sweepAt(new Date(), { RETRY_SWEEP_MAX_ROWS: 2 })).summary).toMatchObject({ due: 2, enqueued: 2, truncated: true });
    expect((await sweepAt(new Date(), { RETRY_SWEEP_MAX_ROWS: 2 })).summary).toMatchObject({ due: 1, enqueued: 1, truncated: false });
    expect(publisher.ids()).toEqual(['b1', 'b2', 'b3', 'b4', 'b5']);
    expect(telemetry.named('RetrySweepCompleted').at(-1)?.measurements).toMatchObject({ due: 1, enqueued: 1, expired: 0, skipped: 0 });
  });

  it('a pass bounded inside a connector\'s fix-config rows leaves the rest for the next pass, which replays them', async () => {
    for (const id of ['f1', 'f2', 'f3']) await record(id, FAILURES.expiredSecret);
    await deps.connectors.save({ tenantId: TENANT, connectorId: CONNECTOR, type: 'Exchange', name: 'Main', allowedToSend: true, clientSecret: 'fixed' });
    // Long after the edit settled: a connector recorded as swept at this version is not looked at again.
    const at = (minutes: number) => new Date(Date.now() + (120 + minutes) * 60_000);

    const first = await sweepAt(at(0), { RETRY_SWEEP_MAX_ROWS: 1 });
    expect(first.summary).toMatchObject({ due: 1, enqueued: 1, truncated: true, connectorsLookedAt: 1 });
    expect(publisher.ids()).toEqual(['f1']);
    expect(await indexContents()).toEqual(expect.arrayContaining(keysOf([await row('f2'), await row('f3')])));

    const second = await sweepAt(at(5));
    expect(second.summary).toMatchObject({ due: 2, enqueued: 2, truncated: false, connectorsLookedAt: 1 });
    expect(publisher.ids()).toEqual(['f1', 'f2', 'f3']);
    // The pass that examined every one of its rows recorded the connector as swept: no more looks.
    expect((await sweepAt(at(10))).summary).toMatchObject({ due: 0, connectorsLookedAt: 0 });
  });

  it('a time-bounded pass that stops inside a connector\'s fix-config rows does not record the connector as swept', async () => {
    const past = new Date(Date.now() - 60 * 60_000);
    const ids = Array.from({ length: 20 }, (_, i) => `cfg-${String(i).padStart(2, '0')}`);
    for (const id of ids) await record(id, FAILURES.expiredSecret, past);
    await deps.connectors.save({ tenantId: TENANT, connectorId: CONNECTOR, type: 'Exchange', name: 'Main', allowedToSend: true, clientSecret: 'fixed' });
    const start = new Date(Date.now() + 120 * 60_000);
    let elapsedMs = 0;
    const stalling = Object.create(deps.transactions) as TransactionStore;
    stalling.get = async (tenantId, transactionId) => {
      elapsedMs = 5_000; // storage stalled: the pass's budget is spent as soon as it reads a row
      return deps.transactions.get(tenantId, transactionId);
    };
    const bounded = { ...deps.settings, RETRY_SWEEP_MAX_SECONDS: 1, RETRY_SWEEP_MAX_ROWS: 1_000 };
    const first = await sweepOnce(deps, { replayPublisher: publisher, transactions: stalling, now: () => new Date(start.getTime() + elapsedMs), settings: bounded });
    expectBalanced(first.summary);
    expect(first.summary.truncated).toBe(true);
    expect(first.summary.due).toBeLessThan(ids.length);

    const second = await sweepAt(new Date(start.getTime() + 60_000), bounded);
    expect(second.summary).toMatchObject({ due: ids.length - first.summary.due, truncated: false, connectorsLookedAt: 1 });
    expect(publisher.ids()).toEqual(ids);
  });

  it('stops taking entries once RETRY_SWEEP_MAX_SECONDS have passed; the rest wait for the next pass, none is sent twice', async () => {
    const past = new Date(Date.now() - 60 * 60_000);
    const ids = Array.from({ length: 40 }, (_, i) => `slow-${String(i).padStart(2, '0')}`);
    for (const id of ids) await record(id, FAILURES.transient, past);

    // The pass's clock jumps past its budget as soon as it reads a row, as if storage had stalled.
    const start = new Date();
    let elapsedMs = 0;
    const stalling = Object.create(deps.transactions) as TransactionStore;
    stalling.get = async (tenantId, transactionId) => {
      elapsedMs = 5_000;
      return deps.transactions.get(tenantId, transactionId);
    };
    const bounded = { ...deps.settings, RETRY_SWEEP_MAX_SECONDS: 1, RETRY_SWEEP_MAX_ROWS: 1_000 };
    const first = await sweepOnce(deps, { replayPublisher: publisher, transactions: stalling, now: () => new Date(start.getTime() + elapsedMs), settings: bounded });
    expectBalanced(first.summary);
    expect(first.summary.truncated).toBe(true);
    expect(first.summary.due).toBeGreaterThan(0);
    expect(first.summary.due).toBeLessThan(ids.length);
    expect(first.lines.join('\n')).toContain('truncated=true');

    const second = await sweepAt(start, bounded);
    expect(second.summary).toMatchObject({ due: ids.length - first.summary.due, truncated: false });
    expect(publisher.ids()).toEqual(ids);
  });
});

describe('crash consistency: a stale entry is harmless', () => {
  it('a crash after the row was saved but before its old entry was removed: the sweep tidies the entry and sends nothing twice', async () => {
    const past = new Date(Date.now() - 60 * 60_000);
    await record('c1', FAILURES.transient, past);
    const failingRemove = new RetryIndexStore(deps.tables);
    failingRemove.remove = async () => {
      throw new Error('process died (test)');
    };
    await expect(record('c1', FAILURES.transient, past, { transactions: deps.transactions, retryIndex: failingRemove })).rejects.toThrow('process died');
    expect(await indexContents()).toHaveLength(2); // the new state's entry, and the old one left behind

    const run = await sweepAt(new Date());
    expect(run.summary).toMatchObject({ due: 2, enqueued: 1, skipped: { 'stale-entry': 1 } });
    expect(publisher.ids()).toEqual(['c1']);
    expect(await indexContents()).toEqual(keysOf([await row('c1')]));
  });

  it('a crash after the new entry was written but before the row: the entry is left while the write may be in flight, tidied after', async () => {
    const failed = await record('c2', FAILURES.transient);
    const nextState = { ...failed, attempts: 2, nextAttemptAt: new Date(Date.now() - 1_000).toISOString() };
    await deps.retryIndex.upsert(indexEntriesFor(nextState)); // step 1 of saveIndexed, then the process died
    const soon = await sweepAt(new Date());
    expect(soon.summary).toMatchObject({ due: 1, skipped: { 'stale-entry': 1 } });
    expect(await indexContents()).toHaveLength(2);

    expect(publisher.sent).toEqual([]);

    // Later the row's own entry is due as well: it is sent once, the orphan is dropped.
    const later = await sweepAt(new Date(Date.now() + 11 * 60_000));
    expect(later.summary).toMatchObject({ due: 2, enqueued: 1, skipped: { 'stale-entry': 1 } });
    expect(publisher.ids()).toEqual(['c2']);
    expect(await indexContents()).toEqual(keysOf([await row('c2')]));
  });

  it('two writers of the same row: the loser of the ETag race leaves an orphan, never removes what the winner needs', async () => {
    const failed = await record('c3', FAILURES.transient);
    const found = await deps.transactions.get(TENANT, 'c3');
    const winner = { ...failed, attempts: 2, nextAttemptAt: minutesFromNow(5).toISOString() };
    const loser = { ...failed, attempts: 2, nextAttemptAt: minutesFromNow(-5).toISOString() };
    await saveIndexed(deps, failed, winner, found!.etag);
    await expect(saveIndexed(deps, failed, loser, found!.etag)).rejects.toMatchObject({ statusCode: 412 });
    expect(await indexContents()).toEqual(expect.arrayContaining(keysOf([winner, loser])));

    const run = await sweepAt(new Date());
    expect(run.summary).toMatchObject({ due: 1, enqueued: 0, skipped: { 'stale-entry': 1 } });
    expect(await indexContents()).toEqual(keysOf([winner]));
  });
});
