import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { customDimensions } from '../../dev/simulators/appInsightsSink';
import { appointmentMessage, startExchangeHarness, type ExchangeHarness } from '../support/exchangeHarness';

const TENANT_GUID = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT_ID = '11111111-2222-3333-4444-555555555555';
const SECRET = 'Qx8~good-client-secret-value';

let h: ExchangeHarness;

beforeAll(async () => {
  h = await startExchangeHarness();
  h.sim.addTenant({ tenantId: TENANT_GUID, domains: ['contoso.onmicrosoft.com'] });
  h.sim.addApp({ tenantId: TENANT_GUID, clientId: CLIENT_ID, clientSecret: SECRET });
  h.sim.addMailbox('jane@contoso.com', { tenantId: TENANT_GUID });
  await h.seedConnector({ tenantId: 'contoso', connectorId: 'exchange-main', entraTenantId: TENANT_GUID, clientId: CLIENT_ID, clientSecret: SECRET });
});

afterAll(async () => {
  await h?.close();
});

describe('Exchange sync through the handler', () => {
  it('creates the event and records a Succeeded row', async () => {
    await h.deliver(appointmentMessage({ appointmentId: 'APT-OK' }), { messageId: 'm-ok' });
    const row = await h.row('contoso', 'm-ok');
    expect(row).toMatchObject({ status: 'Succeeded', attempts: 1, source: 'Service', appointmentId: 'APT-OK', configVersion: 1, message: 'Exchange create: Jane Doe (R001): created.' });
    expect(h.sim.events('jane@contoso.com')).toHaveLength(1);
    expect(h.sim.events('jane@contoso.com')[0]).toMatchObject({ subject: 'Boiler maintenance' });
    // A success does not wait for its event to be sent (the exporter's batch does): flush it here.
    await h.deps.telemetry.flush();
    const synced = await h.sink.waitFor((e) => customDimensions(e).transactionId === 'm-ok');
    expect(synced.length).toBeGreaterThan(0);
  });
});
