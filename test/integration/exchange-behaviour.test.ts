import { InvocationContext } from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzuriteTables } from '../../dev/azurite';
import { makeSyncAppointmentHandler } from '../../functions/syncAppointment';
import { buildDependencies } from '../../shared/app/dependencies';
import { readSettings } from '../../shared/config/settings';
import { noTelemetry } from '../../shared/telemetry/telemetry';
import { StorageUnavailableError } from '../../shared/pipeline/syncAppointment';
import { appointmentMessage, startExchangeHarness, TEST_PROTECTION_KEY, type ExchangeHarness } from '../support/exchangeHarness';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT_ID = '11111111-2222-4333-8444-555555555555';
const SECRET = 'Qx8~behaviour-secret-value';
const MAILBOX = 'jane@contoso.com';

let h: ExchangeHarness;

beforeAll(async () => {
  h = await startExchangeHarness();
  h.sim.addTenant({ tenantId: TENANT });
  h.sim.addApp({ tenantId: TENANT, clientId: CLIENT_ID, clientSecret: SECRET });
  h.sim.addMailbox(MAILBOX, { tenantId: TENANT });
  await h.seedConnector({ tenantId: 'contoso', connectorId: 'exchange-main', entraTenantId: TENANT, clientId: CLIENT_ID, clientSecret: SECRET });
});

afterAll(async () => {
  await h?.close();
});

const rowsOf = async (appointmentId: string) => (await h.rows('contoso')).filter((r) => r.appointmentId === appointmentId);
const eventsWithSubject = (subject: string) => h.sim.events(MAILBOX).filter((e) => e.subject === subject);

describe('at least once in, exactly once out', () => {
  it('a redelivered message creates no second event and no second row', async () => {
    const message = { ...appointmentMessage({ appointmentId: 'APT-REDELIVER' }), subject: 'Redelivered' };
    await h.deliver(message, { messageId: 'redeliver-1', deliveryCount: 1 });
    await h.deliver(message, { messageId: 'redeliver-1', deliveryCount: 2 });
    expect(eventsWithSubject('Redelivered')).toHaveLength(1);
    const rows = await rowsOf('APT-REDELIVER');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ transactionId: 'redeliver-1', status: 'Succeeded', attempts: 1 });
  });

  it('a create retried after its mapping was lost is deduplicated by the Graph transactionId', async () => {
    const message = { ...appointmentMessage({ appointmentId: 'APT-DEDUPE' }), subject: 'Deduped' };
    await h.deliver(message, { messageId: 'dedupe-1' });
    await h.deps.mappings.remove('contoso', 'exchange-main', 'APT-DEDUPE', 'R001');
    await h.deliver(message, { messageId: 'dedupe-1', applicationProperties: { transactionId: 'dedupe-1', source: 'Website' } });
    expect(eventsWithSubject('Deduped')).toHaveLength(1);
    expect(h.sim.mailboxStats(MAILBOX).dedupedCreates).toBeGreaterThanOrEqual(1);
    expect(await rowsOf('APT-DEDUPE')).toEqual([expect.objectContaining({ attempts: 2, source: 'Website', status: 'Succeeded' })]);
  });

  it('a failed message redelivered by Service Bus updates the same row and counts the attempt', async () => {
    h.sim.injectGraphFault({ kind: 'unavailable' }, { mailbox: MAILBOX, times: 3 });
    const message = appointmentMessage({ appointmentId: 'APT-AGAIN' });
    await h.deliver(message, { messageId: 'again-1' });
    expect(await h.row('contoso', 'again-1')).toMatchObject({ code: 'DSEX040', attempts: 1 });
    await h.deliver(message, { messageId: 'again-1', deliveryCount: 2 });
    const rows = await rowsOf('APT-AGAIN');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'Succeeded', attempts: 2, firstFailureAt: expect.any(String) });
    expect(rows[0]!.history.map((a) => a.status)).toEqual(['Failed', 'Succeeded']);
  });

  it('an older version never overwrites a newer one', async () => {
    await h.deliver({ ...appointmentMessage({ appointmentId: 'APT-ORDER', appointmentVersion: 2 }), subject: 'Version 2' }, { messageId: 'order-v2' });
    await h.deliver({ ...appointmentMessage({ appointmentId: 'APT-ORDER', appointmentVersion: 1, action: 'update' }), subject: 'Version 1' }, { messageId: 'order-v1' });
    expect(await h.row('contoso', 'order-v1')).toMatchObject({
      status: 'Superseded',
      message: 'Superseded: version 1 arrived after version 2 was taken up; nothing was sent.',
    });
    expect(eventsWithSubject('Version 2')).toHaveLength(1);
    expect(eventsWithSubject('Version 1')).toHaveLength(0);
  });

  it('a late create is superseded too (its version claim tries the insert first, and meets the newer version)', async () => {
    await h.deliver({ ...appointmentMessage({ appointmentId: 'APT-LATE-CREATE', appointmentVersion: 3 }), subject: 'Create v3' }, { messageId: 'late-create-v3' });
    await h.deliver({ ...appointmentMessage({ appointmentId: 'APT-LATE-CREATE', appointmentVersion: 2 }), subject: 'Create v2' }, { messageId: 'late-create-v2' });
    await h.deliver({ ...appointmentMessage({ appointmentId: 'APT-LATE-CREATE', appointmentVersion: 3 }), subject: 'Create v3' }, { messageId: 'late-create-v3-copy' });
    expect(await h.row('contoso', 'late-create-v2')).toMatchObject({ status: 'Superseded' });
    expect(await h.row('contoso', 'late-create-v3-copy')).toMatchObject({ status: 'Succeeded' });
    expect(eventsWithSubject('Create v3')).toHaveLength(1);
    expect(eventsWithSubject('Create v2')).toHaveLength(0);
  });
});

describe('Graph etiquette', () => {
  it('honours Retry-After on a 429 and then succeeds', async () => {
    h.sim.injectGraphFault({ kind: 'throttle', retryAfterSeconds: 1 }, { mailbox: MAILBOX, times: 1 });
    await h.deliver(appointmentMessage({ appointmentId: 'APT-THROTTLED' }), { messageId: 'throttled-1' });
    expect(await h.row('contoso', 'throttled-1')).toMatchObject({ status: 'Succeeded' });
    const observations = h.sim.retryAfterObservations(MAILBOX);
    expect(observations.length).toBeGreaterThan(0);
    expect(observations.every((o) => o.honoured)).toBe(true);
  });

  it('never has more than 4 requests in flight to one mailbox', async () => {
    h.sim.resetStats();
    h.sim.setLatency(150, MAILBOX);
    await Promise.all(Array.from({ length: 12 }, (_, i) => h.deliver(appointmentMessage({ appointmentId: `APT-BURST-${i}` }), { messageId: `burst-${i}` })));
    h.sim.setLatency(0, MAILBOX);
    const rows = await Promise.all(Array.from({ length: 12 }, (_, i) => h.row('contoso', `burst-${i}`)));
    expect(rows.every((r) => r?.status === 'Succeeded')).toBe(true);
    expect(h.sim.mailboxStats(MAILBOX).maxInFlight).toBe(4);
  });

  it('asks Entra for a token once for many messages on one connector', async () => {
    const clientId = '99999999-2222-4333-8444-555555555555';
    h.sim.addApp({ tenantId: TENANT, clientId, clientSecret: SECRET });
    await h.seedConnector({ tenantId: 'contoso', connectorId: 'token-counter', entraTenantId: TENANT, clientId, clientSecret: SECRET });
    for (let i = 0; i < 10; i += 1) {
      await h.deliver(appointmentMessage({ connectorId: 'token-counter', appointmentId: `APT-TOKEN-${i}` }), { messageId: `token-${i}` });
    }
    expect(await Promise.all(Array.from({ length: 10 }, (_, i) => h.row('contoso', `token-${i}`).then((r) => r?.status)))).toEqual(Array(10).fill('Succeeded'));
    expect(h.sim.tokenRequests(clientId)).toBe(1);
  });

  it('asks Entra once when many messages arrive together on a cold instance', async () => {
    const clientId = '88888888-2222-4333-8444-555555555555';
    h.sim.addApp({ tenantId: TENANT, clientId, clientSecret: SECRET });
    await h.seedConnector({ tenantId: 'contoso', connectorId: 'token-burst', entraTenantId: TENANT, clientId, clientSecret: SECRET });
    const cold = h.instance();
    await Promise.all(
      Array.from({ length: 16 }, (_, i) => cold.deliver(appointmentMessage({ connectorId: 'token-burst', appointmentId: `APT-BURST-${i}` }), { messageId: `burst-${i}` })),
    );
    expect(await Promise.all(Array.from({ length: 16 }, (_, i) => h.row('contoso', `burst-${i}`).then((r) => r?.status)))).toEqual(Array(16).fill('Succeeded'));
    expect(h.sim.tokenRequests(clientId)).toBe(1);
  });
});

describe('nothing is lost when storage is down', () => {
  it('throws with a DSDB code so Service Bus redelivers, and the redelivery succeeds once storage is back', async () => {
    const location = (await import('node:fs')).mkdtempSync(`${(await import('node:os')).tmpdir()}/azurite-outage-`);
    let azurite = await startAzuriteTables({ location });
    const settings = readSettings({
      TablesConnection: azurite.connectionString,
      GRAPH_BASE_URL: h.sim.url,
      ENTRA_AUTHORITY_HOST: h.sim.url,
      SECRET_PROTECTION_KEY: TEST_PROTECTION_KEY,
    });
    const deps = buildDependencies(settings, { telemetry: noTelemetry });
    await deps.connectors.save({ tenantId: 'contoso', connectorId: 'exchange-main', type: 'Exchange', name: 'x', allowedToSend: true, entraTenantId: TENANT, clientId: CLIENT_ID, clientSecret: SECRET });
    const handler = makeSyncAppointmentHandler(() => deps);
    const logs: string[] = [];
    const context = () => new InvocationContext({ triggerMetadata: { messageId: 'outage-1', deliveryCount: 1 }, logHandler: (_level, ...args) => logs.push(args.join(' ')) });
    const message = { ...appointmentMessage({ appointmentId: 'APT-OUTAGE' }), subject: 'During outage' };

    const port = azurite.port;
    await azurite.close();
    const failure = await handler(message, context()).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StorageUnavailableError);
    expect((failure as StorageUnavailableError).diagnosis.code).toBe('DSDB001');
    expect(logs.some((l) => l.startsWith('errorCode=DSDB001') && l.includes('transactionId=outage-1'))).toBe(true);
    expect(eventsWithSubject('During outage')).toHaveLength(0);

    azurite = await startAzuriteTables({ location, port });
    try {
      await handler(message, context());
      const row = (await deps.transactions.get('contoso', 'outage-1'))?.record;
      expect(row).toMatchObject({ status: 'Succeeded', attempts: 1 });
      expect(eventsWithSubject('During outage')).toHaveLength(1);
    } finally {
      await azurite.close();
    }
  });
});

describe('secret hygiene', () => {
  it('no row, log line or telemetry item carries the client secret', async () => {
    const rows = JSON.stringify(await h.rows());
    const logs = JSON.stringify(h.logs);
    const telemetry = JSON.stringify(h.sink.envelopes());
    for (const text of [rows, logs, telemetry]) expect(text).not.toContain(SECRET);
    expect(rows.length).toBeGreaterThan(1000);
  });
});
