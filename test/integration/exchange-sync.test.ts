import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { customDimensions } from '../../dev/simulators/appInsightsSink';
import { appointmentMessage, type ExchangeHarness, startContosoHarness } from '../support/exchangeHarness';


let h: ExchangeHarness;

beforeAll(async () => {
  h = await startContosoHarness();
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
