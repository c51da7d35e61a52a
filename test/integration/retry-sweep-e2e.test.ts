import { InvocationContext } from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServiceBusBroker } from '../../dev/serviceBus/broker';
import { customDimensions } from '../../dev/simulators/appInsightsSink';
import { makeRetrySweepHandler } from '../../functions/retrySweep';
import { buildDependencies } from '../../shared/app/dependencies';
import type { ReplayPublisher } from '../../shared/messaging/replayPublisher';
import { indexEntriesFor } from '../../shared/retry/indexKeys';
import type { TransactionStore } from '../../shared/storage/transactions';
import { appointmentMessage, TEST_QUEUE, type ExchangeHarness, startContosoHarness, CONTOSO } from '../support/exchangeHarness';
import { consumeReplays, sweepOnce, type Deliver } from '../support/retrySweep';

/**
 * The sweep end to end over the real wire: rows failed by the real handler against the Entra/Graph
 * simulator, swept by the registered timer handler, re-enqueued through the real ServiceBusSender to
 * the loopback broker, received with the real ServiceBusReceiver and handed back to the sync handler.
 */
const TENANT_GUID = CONTOSO.entraTenantId;
const SECRET = CONTOSO.clientSecret;
const MAILBOX = CONTOSO.mailbox;
const LEASE_MINUTES = 30;

let h: ExchangeHarness;

beforeAll(async () => {
  h = await startContosoHarness({ RETRY_SWEEP_LEASE_MINUTES: String(LEASE_MINUTES) }, { serviceBus: true });
});

afterAll(async () => {
  await h?.close();
});

const minutesLater = (minutes: number) => new Date(Date.now() + minutes * 60_000);

/** The registered timer handler, as the host fires it, on a chosen clock. */
async function fireTimer(now: Date): Promise<string[]> {
  const lines: string[] = [];
  const handler = makeRetrySweepHandler(() => ({ ...h.deps, now: () => now }));
  const context = new InvocationContext({ functionName: 'retrySweep', logHandler: (_level, ...args) => lines.push(args.map(String).join(' ')) });
  await handler({ isPastDue: false, schedule: { adjustForDST: true }, scheduleStatus: { last: '', next: '', lastUpdated: '' } }, context);
  return lines;
}

const deliver: Deliver = (body, meta) => h.deliver(body, meta);

/** Resolves `arrive(key)` for everyone once `parties` callers arrived with the same key. */
function meetingPoint(parties: number): (key: string) => Promise<void> {
  const points = new Map<string, { arrived: number; release: () => void; met: Promise<void> }>();
  return (key) => {
    let point = points.get(key);
    if (!point) {
      let release = () => undefined as void;
      const met = new Promise<void>((resolve) => (release = resolve));
      point = { arrived: 0, release, met };
      points.set(key, point);
    }
    point.arrived += 1;
    if (point.arrived === parties) point.release();
    return point.met;
  };
}

/** The same store, whose reads wait at the meeting point before they return. */
function readsThen(store: TransactionStore, arrive: (key: string) => Promise<void>): TransactionStore {
  const gated = Object.create(store) as TransactionStore;
  gated.get = async (tenantId, transactionId) => {
    const found = await store.get(tenantId, transactionId);
    await arrive(transactionId);
    return found;
  };
  return gated;
}

async function failWithTransient(appointmentId: string, messageId: string): Promise<void> {
  h.sim.injectGraphFault({ kind: 'unavailable' }, { mailbox: MAILBOX, times: 3 });
  await h.deliver({ ...appointmentMessage({ appointmentId }), subject: appointmentId }, { messageId });
  expect(await h.row('contoso', messageId)).toMatchObject({ code: 'DSEX040', retryClass: 'retried', attempts: 1 });
}

describe('the retry sweep, end to end', () => {
  it('a DSEX040 row is swept after its backoff, replayed through Service Bus, and completes as Timer job', async () => {
    await failWithTransient('APT-E2E-40', 'e2e-40');
    const lines = await fireTimer(minutesLater(10));
    expect(lines.find((l) => l.startsWith('Retry sweep:'))).toContain('due=1 enqueued=1');

    const [message] = await consumeReplays(h.broker!.connectionString, TEST_QUEUE, 1, deliver);
    expect(message).toMatchObject({ messageId: 'e2e-40:2', applicationProperties: { transactionId: 'e2e-40', source: 'Timer job' } });
    const row = await h.row('contoso', 'e2e-40');
    expect(row).toMatchObject({ status: 'Succeeded', source: 'Timer job', attempts: 2, replayQueuedAt: undefined });
    expect(row!.history.map((a) => `${a.source}:${a.status}`)).toEqual(['Service:Failed', 'Timer job:Succeeded']);
    expect(h.sim.events(MAILBOX).filter((e) => e.subject === 'APT-E2E-40')).toHaveLength(1);
    expect(indexEntriesFor(row!)).toEqual([]);

    const events = await h.sink.waitFor((e) => e.data?.baseData?.name === 'RetrySweepCompleted' && e.data.baseData.measurements?.enqueued === 1);
    expect(events[0]!.data!.baseData!.measurements).toMatchObject({ due: 1, enqueued: 1, expired: 0, skipped: 0 });
  });

  it('a DSEX001 row waits while the secret is expired, and replays once the operator saves the new secret', async () => {
    h.sim.addApp({ tenantId: TENANT_GUID, clientId: 'expired-app', clientSecret: 'old-secret', secretExpired: true });
    await h.seedConnector({ tenantId: 'contoso', connectorId: 'exchange-expired', entraTenantId: TENANT_GUID, clientId: 'expired-app', clientSecret: 'old-secret' });
    await h.deliver(appointmentMessage({ connectorId: 'exchange-expired', appointmentId: 'APT-E2E-01' }), { messageId: 'e2e-01' });
    expect(await h.row('contoso', 'e2e-01')).toMatchObject({ code: 'DSEX001', retryClass: 'fix-config', configVersion: 1 });

    expect((await fireTimer(new Date())).join('\n')).toContain('due=0 enqueued=0');

    h.sim.updateApp(TENANT_GUID, 'expired-app', { clientSecret: 'new-secret', secretExpired: false });
    await h.seedConnector({ tenantId: 'contoso', connectorId: 'exchange-expired', entraTenantId: TENANT_GUID, clientId: 'expired-app', clientSecret: 'new-secret' });
    expect((await fireTimer(new Date())).join('\n')).toContain('due=1 enqueued=1');

    await consumeReplays(h.broker!.connectionString, TEST_QUEUE, 1, deliver);
    expect(await h.row('contoso', 'e2e-01')).toMatchObject({ status: 'Succeeded', source: 'Timer job', attempts: 2, configVersion: 2 });
  });

  it('two overlapping sweeps (two app instances) enqueue each due row exactly once', async () => {
    // DSEX030 (retried) fails at once, without the in-pipeline retries a transient costs.
    h.sim.addApp({ tenantId: TENANT_GUID, clientId: 'denied-app', clientSecret: SECRET, graphPermission: false });
    await h.seedConnector({ tenantId: 'contoso', connectorId: 'exchange-denied', entraTenantId: TENANT_GUID, clientId: 'denied-app', clientSecret: SECRET });
    const ids = Array.from({ length: 12 }, (_, i) => `overlap-${i}`);
    for (const id of ids) await h.deliver(appointmentMessage({ connectorId: 'exchange-denied', appointmentId: `APT-${id}` }), { messageId: id });
    expect((await h.rows('contoso')).filter((r) => ids.includes(r.transactionId)).map((r) => r.code)).toEqual(ids.map(() => 'DSEX030'));
    h.sim.updateApp(TENANT_GUID, 'denied-app', { graphPermission: true }); // the operator granted consent
    const before = h.broker!.stats(TEST_QUEUE);
    const other = h.instance();
    const now = () => minutesLater(10);
    // Each pass reads every row before either claims one: all 12 are contested under the same ETag.
    const bothRead = meetingPoint(2);
    const [a, b] = await Promise.all([
      sweepOnce(h.deps, { now, transactions: readsThen(h.deps.transactions, bothRead) }),
      sweepOnce(other.deps, { now, transactions: readsThen(other.deps.transactions, bothRead) }),
    ]);

    expect([a.summary.due, b.summary.due]).toEqual([ids.length, ids.length]);
    expect(a.summary.enqueued + b.summary.enqueued).toBe(ids.length);
    expect((a.summary.skipped['claimed-elsewhere'] ?? 0) + (b.summary.skipped['claimed-elsewhere'] ?? 0)).toBe(ids.length);
    const after = h.broker!.stats(TEST_QUEUE);
    expect(after.sent - before.sent).toBe(ids.length); // not one message sent twice, before any duplicate detection
    expect(after.duplicatesDropped - before.duplicatesDropped).toBe(0);
    const consumed = await consumeReplays(h.broker!.connectionString, TEST_QUEUE, ids.length, deliver);
    expect(consumed.map((m) => m.messageId).sort()).toEqual(ids.map((id) => `${id}:2`).sort());
    for (const id of ids) expect(await h.row('contoso', id)).toMatchObject({ status: 'Succeeded', attempts: 2 });
  });
});

describe('a pass that dies after the broker took its batch', () => {
  /** Sends for real, then fails as if the process died before it learned the send succeeded. */
  const diesAfterSending = (real: ReplayPublisher): ReplayPublisher => ({
    async replay(records, source) {
      await real.replay(records, source);
      throw new Error('process died after sending (test)');
    },
  });

  it('re-sends at most once, after the lease, under the same message id: duplicate detection drops it', async () => {
    await failWithTransient('APT-CRASH-1', 'crash-1');
    const first = await sweepOnce(h.deps, { now: () => minutesLater(10), replayPublisher: diesAfterSending(h.deps.replayPublisher) });
    expect(first.summary).toMatchObject({ due: 1, enqueued: 0, failed: 1 });
    expect(await h.row('contoso', 'crash-1')).toMatchObject({ replayQueuedAt: expect.any(String), attempts: 1 });

    expect((await sweepOnce(h.deps, { now: () => minutesLater(10 + LEASE_MINUTES - 1) })).summary.due).toBe(0); // leased
    const before = h.broker!.stats(TEST_QUEUE);
    const again = await sweepOnce(h.deps, { now: () => minutesLater(10 + LEASE_MINUTES + 1) });
    expect(again.summary).toMatchObject({ due: 1, enqueued: 1 });
    expect(h.broker!.stats(TEST_QUEUE).duplicatesDropped - before.duplicatesDropped).toBe(1);

    const consumed = await consumeReplays(h.broker!.connectionString, TEST_QUEUE, 1, deliver);
    expect(consumed.map((m) => m.messageId)).toEqual(['crash-1:2']);
    expect(await h.row('contoso', 'crash-1')).toMatchObject({ status: 'Succeeded', source: 'Timer job', attempts: 2 });
  });

  it('without duplicate detection the second copy reaches the sync handler, which treats it as a redelivery', async () => {
    const plain = await startServiceBusBroker({ queues: [{ name: TEST_QUEUE }] });
    const deps = buildDependencies({ ...h.deps.settings, ServiceBusConnection: plain.connectionString }, { telemetry: h.deps.telemetry });
    try {
      await failWithTransient('APT-CRASH-2', 'crash-2');
      await sweepOnce(deps, { now: () => minutesLater(10), replayPublisher: diesAfterSending(deps.replayPublisher) });
      await sweepOnce(deps, { now: () => minutesLater(10 + LEASE_MINUTES + 1) });
      expect(plain.activeMessages(TEST_QUEUE).map((m) => m.messageId)).toEqual(['crash-2:2', 'crash-2:2']);

      await consumeReplays(plain.connectionString, TEST_QUEUE, 2, deliver);
      const row = await h.row('contoso', 'crash-2');
      expect(row).toMatchObject({ status: 'Succeeded', source: 'Timer job', attempts: 2 });
      expect(h.sim.events(MAILBOX).filter((e) => e.subject === 'APT-CRASH-2')).toHaveLength(1);
      expect(h.logs.some((l) => l.text.includes('transactionId=crash-2 replay crash-2:2 was already recorded'))).toBe(true);
    } finally {
      await deps.replayPublisher.close();
      await deps.serviceBus().close();
      await plain.close();
    }
  });
});
