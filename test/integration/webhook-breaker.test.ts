import { TableClient } from '@azure/data-tables';
import { describe, expect, it } from 'vitest';
import { azuriteTablesConnectionString } from '../../dev/azurite';
import { customDimensions, type TelemetryEnvelope } from '../../dev/simulators/appInsightsSink';
import { partnerResponses as respond, startPartnerSimulator } from '../../dev/simulators/partner';
import { untrustedTlsOptions } from '../../dev/simulators/partnerTls';
import { createTableProvider, TABLES, type TableProvider } from '../../shared/storage/tableClients';
import { storedBreakerState } from '../../shared/webhook/sharedBreaker';
import { startBlackHole } from '../support/blackHole';
import { closedPort } from '../support/closedPort';
import { expectDiagnosed } from '../support/expectDiagnosed';
import type { HandlerInstance } from '../support/syncHarness';
import { useWebhookHarness, WEBHOOK_TEST_SETTINGS, webhookMessage } from '../support/webhookHarness';

/**
 * The per-(tenant, connector) circuit breaker, whose only state is its row in Azurite: it opens after
 * WEBHOOK_BREAKER_FAILURE_THRESHOLD (3 here) deliveries in a row fail for availability reasons,
 * short-circuits (DSWBHK030) without reaching the partner, lets one probe through after
 * WEBHOOK_BREAKER_BREAK_MS (500 ms here), and closes on its success — across app instances.
 */
const THRESHOLD = Number(WEBHOOK_TEST_SETTINGS.WEBHOOK_BREAKER_FAILURE_THRESHOLD);
const BREAK_MS = Number(WEBHOOK_TEST_SETTINGS.WEBHOOK_BREAKER_BREAK_MS);
const OPEN_TEXT = '[DSWBHK030] The circuit breaker for this connector is open; the call was short-circuited before reaching the partner.';

const h = useWebhookHarness();
let seq = 0;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Long enough for an open breaker to half-open (it opened before the last delivery returned). */
const waitOutTheBreak = () => pause(BREAK_MS + 100);

async function connector(): Promise<{ connectorId: string; path: string }> {
  seq += 1;
  const connectorId = `breaker-${seq}`;
  return { connectorId, path: await h.seedWebhook(connectorId) };
}

async function send(connectorId: string, via: HandlerInstance = h) {
  seq += 1;
  const messageId = `bm-${seq}`;
  await via.deliver(webhookMessage({ connectorId, appointmentId: `APT-B${seq}` }), { messageId });
  return (await h.row('contoso', messageId))!;
}

const state = (connectorId: string) => storedBreakerState(h.deps.tables, 'contoso', connectorId);

/**
 * Deliveries that exhaust their retries on 503 until THRESHOLD have failed in a row (`failedSoFar` of
 * them already did): the breaker is open afterwards, and not one delivery earlier.
 */
async function breakIt(connectorId: string, path: string, via: HandlerInstance = h, failedSoFar = 0): Promise<void> {
  h.sim.setDefault(respond.status(503, 'down for maintenance'), path);
  for (let i = failedSoFar; i < THRESHOLD; i += 1) {
    expect(await state(connectorId)).not.toMatchObject({ phase: 'Open' });
    expect((await send(connectorId, via)).code).toBe('DSWBHK020');
  }
  h.sim.setDefault(undefined, path);
  expect(await state(connectorId)).toMatchObject({ phase: 'Open', consecutiveFailures: THRESHOLD, lastFailureCode: 'DSWBHK020' });
}

const stateChanges = (connectorId: string) =>
  h.sink
    .envelopes()
    .filter((e) => e.data?.baseData?.name === 'WebhookBreakerStateChanged' && customDimensions(e).connectorId === connectorId)
    .map((e) => `${customDimensions(e).from}→${customDimensions(e).to}`);

describe('one instance', () => {
  it('opens after repeated failures, short-circuits, half-opens after the break and closes on the probe', async () => {
    const { connectorId, path } = await connector();
    h.sim.setDefault(respond.status(503), path);
    expect((await send(connectorId)).code).toBe('DSWBHK020');
    expect(await state(connectorId)).toMatchObject({ phase: 'Closed', consecutiveFailures: 1 });
    await breakIt(connectorId, path, h, 1);

    const reached = h.sim.deliveries(path).length;
    const shorted = await send(connectorId);
    await expectDiagnosed(h, shorted, 'DSWBHK030', 'Failed');
    expect(shorted).toMatchObject({ message: OPEN_TEXT, retryClass: 'retried' });
    expect(Date.parse(shorted.nextAttemptAt!)).toBeGreaterThan(Date.parse(shorted.lastAttemptAt));
    expect(h.sim.deliveries(path)).toHaveLength(reached); // never reached the partner

    await waitOutTheBreak();
    const probe = await send(connectorId);
    expect(probe.status).toBe('Succeeded');
    expect(h.sim.deliveries(path)).toHaveLength(reached + 1);
    expect(await state(connectorId)).toEqual({ phase: 'Closed', consecutiveFailures: 0, configVersion: 1 });
    expect((await send(connectorId)).status).toBe('Succeeded');

    await h.sink.waitFor(() => stateChanges(connectorId).length >= 3);
    expect(stateChanges(connectorId)).toEqual(['Closed→Open', 'Open→HalfOpen', 'HalfOpen→Closed']);
  });

  it('a probe that fails opens it again for another break', async () => {
    const { connectorId, path } = await connector();
    await breakIt(connectorId, path);
    const { openedAt } = (await state(connectorId))!;
    await waitOutTheBreak();
    h.sim.queue([respond.status(500), respond.status(500), respond.status(500)], path);
    expect((await send(connectorId)).code).toBe('DSWBHK020');
    const reopened = await state(connectorId);
    expect(reopened).toMatchObject({ phase: 'Open' });
    expect(reopened!.openedAt).toBeGreaterThan(openedAt!);
    expect((await send(connectorId)).message).toBe(OPEN_TEXT);
  });

  it('timeouts count towards opening; permanent answers (a 4xx: the partner is up) do not', async () => {
    const { connectorId, path } = await connector();
    h.sim.queue([respond.hang(), respond.hang()], path);
    expect((await send(connectorId)).code).toBe('DSWBHK010');
    expect((await send(connectorId)).code).toBe('DSWBHK010');
    expect(await state(connectorId)).toMatchObject({ phase: 'Closed', consecutiveFailures: 2, lastFailureCode: 'DSWBHK010' });
    h.sim.queue([respond.status(422), respond.status(404), respond.status(401), respond.redirect(`${h.sim.url}/elsewhere`)], path);
    for (const code of ['DSWBHK020', 'DSWBHK020', 'DSCFG008', 'DSWBHK020']) expect((await send(connectorId)).code).toBe(code);
    expect(await state(connectorId)).toMatchObject({ phase: 'Closed', consecutiveFailures: 0 });
  });

  it('a partner certificate that does not validate is counted like a permanent 4xx: never, so it does not open the breaker', async () => {
    const untrusted = await startPartnerSimulator({ tls: untrustedTlsOptions() });
    try {
      seq += 1;
      const connectorId = `breaker-${seq}`;
      await h.seedWebhook(connectorId, { webhookUrl: `${untrusted.url}/hooks/${connectorId}` });
      for (let i = 0; i <= THRESHOLD; i += 1) expect((await send(connectorId)).code).toBe('DSWBHK020');
      expect(untrusted.connections()).toBe(THRESHOLD + 1); // every delivery reached the partner's TLS endpoint, once
      expect((await state(connectorId))?.consecutiveFailures ?? 0).toBe(0);
    } finally {
      await untrusted.close();
    }
  });

  it('an edited connector (new config version) starts with a closed breaker', async () => {
    const { connectorId, path } = await connector();
    await breakIt(connectorId, path);
    await h.seedWebhook(connectorId); // an operator saves the connector: configVersion 2
    expect((await send(connectorId)).status).toBe('Succeeded');
  });
});

describe('two instances sharing one breaker through Azurite', () => {
  it('an instance that never saw a failure short-circuits, and exactly one instance probes', async () => {
    // The probe is held at the partner until the test releases it, so these instances' attempt timeout
    // must outlast the hold: the test, not a clock, ends the probe.
    const patient = { WEBHOOK_TIMEOUT_MS: '20000', WEBHOOK_DELIVERY_BUDGET_MS: '25000' };
    const [one, two] = [h.instance(patient), h.instance(patient)]; // own composition roots, same storage
    const { connectorId, path } = await connector();
    await breakIt(connectorId, path, one);

    const reached = h.sim.deliveries(path).length;
    const shorted = await send(connectorId, two);
    await expectDiagnosed({ logs: two.logs, sink: h.sink }, shorted, 'DSWBHK030', 'Failed');
    expect(h.sim.deliveries(path)).toHaveLength(reached);

    await waitOutTheBreak();
    let release!: () => void;
    h.sim.queue(respond.held(new Promise<void>((resolve) => (release = resolve)), respond.ok(204)), path);
    // Both ask at once: one stores the half-open claim, the other loses the ETag race or reads the claim.
    const sends = [send(connectorId, one), send(connectorId, two)];
    // The loser settles while the probe is still held; a second probe would get the default 204 instead.
    const first = await Promise.race(sends);
    expect(first).toMatchObject({ status: 'Failed', code: 'DSWBHK030', message: OPEN_TEXT });
    await h.sim.waitForDeliveries(reached + 1, { path });
    release();
    const rows = await Promise.all(sends);
    expect(rows.map((r) => r.status).sort()).toEqual(['Failed', 'Succeeded']);
    expect(h.sim.deliveries(path)).toHaveLength(reached + 1);

    expect(await state(connectorId)).toEqual({ phase: 'Closed', consecutiveFailures: 0, configVersion: 1 });
    expect((await send(connectorId, two)).status).toBe('Succeeded');
    expect((await send(connectorId, one)).status).toBe('Succeeded');
  });

  it('fails open when the breaker table cannot be read: the delivery goes ahead and the moment is reported', async () => {
    const { connectorId, path } = await connector();
    await breakIt(connectorId, path);
    // A storage account where nothing listens, for the breaker table only; no SDK retries, so it fails fast.
    const unreachable = TableClient.fromConnectionString(azuriteTablesConnectionString(await closedPort()), TABLES.webhookBreakers, { allowInsecureConnection: true, retryOptions: { maxRetries: 0 } });
    const live = createTableProvider({ connectionString: h.azurite.connectionString });
    const tables: TableProvider = { table: async (name) => (name === TABLES.webhookBreakers ? unreachable : live.table(name)) };
    const blind = h.instance({}, { tables });

    const row = await send(connectorId, blind);
    expect(row.status).toBe('Succeeded');
    expect(await state(connectorId)).toMatchObject({ phase: 'Open' }); // nobody could write it either
    const [event] = await h.sink.waitFor((e) => e.data?.baseData?.name === 'WebhookBreakerStoreUnavailable' && customDimensions(e).connectorId === connectorId);
    expect(customDimensions(event!)).toMatchObject({ tenantId: 'contoso', storageCode: 'DSDB001' });
  });

  it('fails open within its storage budget when the breaker table hangs, instead of waiting out the SDK', async () => {
    const { connectorId, path } = await connector();
    await breakIt(connectorId, path);
    // A store that accepts connections and never answers, behind the product's own provider (10 s per
    // request, the SDK's default retries: about 45 s before it would give up on its own).
    const hole = await startBlackHole();
    try {
      const hung = createTableProvider({ connectionString: azuriteTablesConnectionString(hole.port) });
      const live = createTableProvider({ connectionString: h.azurite.connectionString });
      const tables: TableProvider = { table: (name) => (name === TABLES.webhookBreakers ? hung.table(name) : live.table(name)) };
      // The breaker's budget is the smaller of 2 s and one storage request's timeout.
      const blind = h.instance({ STORAGE_REQUEST_TIMEOUT_MS: '400' }, { tables });

      const started = Date.now();
      const row = await send(connectorId, blind);
      const elapsed = Date.now() - started;
      expect(row.status).toBe('Succeeded');
      expect(elapsed).toBeLessThan(2 * 400 + 1_500); // admit and record, 400 ms each, and the delivery
      expect(hole.connections()).toBeGreaterThan(0);
      await h.deps.telemetry.flush();
      const unavailable = (e: TelemetryEnvelope) => e.data?.baseData?.name === 'WebhookBreakerStoreUnavailable' && customDimensions(e).connectorId === connectorId;
      await h.sink.waitFor(() => h.sink.envelopes().filter(unavailable).length >= 2);
      // One report per expiry (admit, then record), as a storage timeout.
      expect(h.sink.envelopes().filter(unavailable).map((e) => customDimensions(e).storageCode)).toEqual(['DSDB004', 'DSDB004']);
    } finally {
      await hole.close();
    }
  });
});
