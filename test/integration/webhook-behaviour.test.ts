import { TableClient } from '@azure/data-tables';
import { describe, expect, it } from 'vitest';
import { azuriteTablesConnectionString } from '../../dev/azurite';
import { customDimensions } from '../../dev/simulators/appInsightsSink';
import { partnerResponses as respond, type PartnerDelivery } from '../../dev/simulators/partner';
import { replayMessage } from '../../shared/messaging/replayPublisher';
import { StorageUnavailableError } from '../../shared/pipeline/syncAppointment';
import { createTableProvider, TABLES, type TableProvider } from '../../shared/storage/tableClients';
import { closedPort } from '../support/closedPort';
import { useWebhookHarness, webhookMessage } from '../support/webhookHarness';

/**
 * What a partner relies on beyond the codes: one webhook-id per message whatever happens to it (so
 * it can deduplicate), Retry-After honoured when the invocation has room for it, and no delivery
 * outcome lost when the transaction row cannot be written.
 */
const h = useWebhookHarness();
let seq = 0;

async function connector(): Promise<{ connectorId: string; path: string }> {
  seq += 1;
  const connectorId = `behaviour-${seq}`;
  return { connectorId, path: await h.seedWebhook(connectorId) };
}

const idOf = (delivery: PartnerDelivery) => delivery.headers['webhook-id'];

describe('one webhook-id per message', () => {
  it('is the same on every in-invocation retry and on an operator replay, with the same body', async () => {
    const { connectorId, path } = await connector();
    const message = webhookMessage({ connectorId, appointmentId: 'APT-ID-1' });
    h.sim.queue([503, 500, 502].map((status) => respond.status(status)), path);
    await h.deliver(message, { messageId: 'id-1' });
    const failed = (await h.row('contoso', 'id-1'))!;
    expect(failed).toMatchObject({ code: 'DSWBHK020', attempts: 1 });
    expect(h.sim.deliveries(path)).toHaveLength(3);

    // Exactly what the Errors page's Replay puts on the queue.
    const replay = replayMessage(failed, 'Website');
    await h.deliver(replay.body, { messageId: String(replay.messageId), applicationProperties: replay.applicationProperties as Record<string, unknown> });
    expect(await h.row('contoso', 'id-1')).toMatchObject({ status: 'Succeeded', source: 'Website', attempts: 2 });

    const deliveries = h.sim.deliveries(path);
    expect(deliveries).toHaveLength(4);
    expect(new Set(deliveries.map(idOf))).toEqual(new Set([idOf(deliveries[0]!)]));
    expect(new Set(deliveries.map((d) => d.body))).toEqual(new Set([deliveries[0]!.body]));
    expect(JSON.parse(deliveries[0]!.body)).toMatchObject({ type: 'appointment.created', data: { appointmentId: 'APT-ID-1' } });

    // Another message about the same appointment is another delivery to the partner.
    await h.deliver(webhookMessage({ connectorId, appointmentId: 'APT-ID-1', appointmentVersion: 2, action: 'update' }), { messageId: 'id-2' });
    expect(idOf(h.sim.deliveries(path)[4]!)).not.toBe(idOf(deliveries[0]!));
  });
});

describe('Retry-After', () => {
  it('is honoured within the invocation when the budget has room: the next attempt waits for it', async () => {
    const { connectorId, path } = await connector();
    h.sim.queue([respond.throttle(1), respond.ok(202)], path);
    await h.deliver(webhookMessage({ connectorId, appointmentId: 'APT-RA' }), { messageId: 'ra-1' });
    expect(await h.row('contoso', 'ra-1')).toMatchObject({ status: 'Succeeded', attempts: 1 });
    const [throttled, accepted] = h.sim.deliveries(path);
    // The jittered backoff of these settings stays far below a second: only Retry-After explains the wait.
    expect(accepted!.receivedAt.getTime() - throttled!.receivedAt.getTime()).toBeGreaterThanOrEqual(1_000);
    expect(Number(accepted!.headers['webhook-timestamp'])).toBeGreaterThan(Number(throttled!.headers['webhook-timestamp']));
    expect(idOf(accepted!)).toBe(idOf(throttled!));
  });
});

describe('nothing is lost when the transaction row cannot be written', () => {
  it('the invocation throws (Service Bus redelivers); the redelivery is recorded once, under the same webhook-id', async () => {
    const { connectorId, path } = await connector();
    // Reads work, writes go to a storage account where nothing listens: the partner is reached, the row is not written.
    const unreachable = TableClient.fromConnectionString(azuriteTablesConnectionString(await closedPort()), TABLES.transactions, { allowInsecureConnection: true, retryOptions: { maxRetries: 0 } });
    const live = createTableProvider({ connectionString: h.azurite.connectionString });
    let down = true;
    const writes = new Set<PropertyKey>(['createEntity', 'updateEntity', 'upsertEntity']);
    const transactions = (client: TableClient): TableClient =>
      new Proxy(client, {
        get(target, name) {
          const source = down && writes.has(name) ? unreachable : target;
          const value = Reflect.get(source, name) as unknown;
          return typeof value === 'function' ? value.bind(source) : value;
        },
      });
    const tables: TableProvider = { table: async (name) => (name === TABLES.transactions ? transactions(await live.table(name)) : live.table(name)) };
    const flaky = h.instance({}, { tables });
    const message = webhookMessage({ connectorId, appointmentId: 'APT-OUTAGE' });

    const failure = await flaky.deliver(message, { messageId: 'outage-1' }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StorageUnavailableError);
    expect((failure as StorageUnavailableError).diagnosis.code).toBe('DSDB001');
    expect(flaky.logs.some((l) => l.text.includes('errorCode=DSDB001') && l.text.includes('transactionId=outage-1'))).toBe(true);
    const [event] = await h.sink.waitFor((e) => customDimensions(e).transactionId === 'outage-1' && customDimensions(e).errorCode === 'DSDB001');
    expect(customDimensions(event!)).toMatchObject({ tenantId: 'contoso', connectorId });
    expect(await h.row('contoso', 'outage-1')).toBeUndefined();
    expect(h.sim.deliveries(path)).toHaveLength(1);

    down = false;
    await flaky.deliver(message, { messageId: 'outage-1', deliveryCount: 2 });
    expect(await h.rows('contoso')).toEqual(expect.arrayContaining([expect.objectContaining({ transactionId: 'outage-1', status: 'Succeeded', attempts: 1 })]));
    expect((await h.rows('contoso')).filter((r) => r.appointmentId === 'APT-OUTAGE')).toHaveLength(1);
    // The partner saw it twice: the shared webhook-id is what lets it apply the change once.
    const [first, second] = h.sim.deliveries(path);
    expect(h.sim.deliveries(path)).toHaveLength(2);
    expect(idOf(second!)).toBe(idOf(first!));
  });
});
