// Wire-level checks with a bare rhea client, for protocol corners the SDK does not let a test
// trigger on demand.
import { once } from 'node:events';
import { createServer } from 'node:net';
import { create_container, generate_uuid, type Connection, type Delivery, type EventContext, type Message } from 'rhea';
import { afterEach, describe, expect, it } from 'vitest';
import { startServiceBusBroker, type ServiceBusBroker } from './broker';

let broker: ServiceBusBroker | undefined;
let connection: Connection | undefined;

afterEach(async () => {
  connection?.close();
  await broker?.close();
  broker = undefined;
  connection = undefined;
});

async function connect(b: ServiceBusBroker): Promise<Connection> {
  const c = create_container().connect({ host: '127.0.0.1', port: b.port, reconnect: false });
  c.on('error', () => undefined);
  c.on('disconnected', () => undefined);
  await once(c, 'connection_open');
  connection = c;
  return c;
}

async function send(c: Connection, address: string, messages: Message[]): Promise<void> {
  const sender = c.open_sender({ target: { address } });
  for (const m of messages) {
    const accepted = once(sender, 'accepted');
    sender.send(m);
    await accepted;
  }
  sender.close();
}

describe('Service Bus test broker on the wire', () => {
  it('answers a $cbs put-token with status-code 200 and the request id as correlation id', async () => {
    broker = await startServiceBusBroker();
    const c = await connect(broker);
    const replyTo = generate_uuid();
    const receiver = c.open_receiver({ source: { address: '$cbs' }, name: replyTo, target: { address: replyTo } });
    const sender = c.open_sender({ target: { address: '$cbs' } });
    await once(receiver, 'receiver_open');
    const reply = once(receiver, 'message') as Promise<[EventContext]>;
    sender.send({
      message_id: 'req-1',
      reply_to: replyTo,
      to: '$cbs',
      body: 'SharedAccessSignature sr=…',
      application_properties: { operation: 'put-token', name: 'sb://127.0.0.1/q', type: 'servicebus.windows.net:sastoken' },
    });
    const [ctx] = await reply;
    expect(ctx.message?.correlation_id).toBe('req-1');
    expect(ctx.message?.application_properties).toMatchObject({ 'status-code': 200 });
  });

  it('acknowledges a drain even when its last credit went to a message', async () => {
    broker = await startServiceBusBroker({ queues: [{ name: 'q' }] });
    const c = await connect(broker);
    await send(c, 'q', [{ body: 'one' }, { body: 'two' }]);
    const receiver = c.open_receiver({ source: { address: 'q' }, credit_window: 0, autoaccept: false, rcv_settle_mode: 1 });
    await once(receiver, 'receiver_open');
    const bodies: unknown[] = [];
    receiver.on('message', (ctx: EventContext) => bodies.push(ctx.message?.body));
    const drained = once(receiver, 'receiver_drained');
    // Credit and drain leave in one flow frame: the broker must send both messages, then say drained.
    receiver.add_credit(2);
    receiver.drain_credit();
    await Promise.race([drained, new Promise((_, reject) => setTimeout(() => reject(new Error('no drained flow')), 1_000))]);
    expect(bodies).toEqual(['one', 'two']);
  });

  it('settles a dead-letter rejection as accepted, and sends nothing beyond the granted credit', async () => {
    broker = await startServiceBusBroker({ queues: [{ name: 'q' }] });
    const c = await connect(broker);
    await send(c, 'q', [{ body: 'bad' }, { body: 'next' }]);
    const receiver = c.open_receiver({ source: { address: 'q' }, credit_window: 0, autoaccept: false, rcv_settle_mode: 1 });
    const deliveries: Delivery[] = [];
    receiver.on('message', (ctx: EventContext) => ctx.delivery && deliveries.push(ctx.delivery));
    await once(receiver, 'receiver_open');
    receiver.add_credit(1);
    await expect.poll(() => deliveries.length).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(deliveries).toHaveLength(1);

    const settled = once(receiver, 'settled') as Promise<[EventContext]>;
    deliveries[0]?.reject({ condition: 'com.microsoft:dead-letter', info: { DeadLetterReason: 'r', DeadLetterErrorDescription: 'd' } });
    const [ctx] = await settled;
    expect((ctx.delivery?.remote_state as { constructor: { composite_type?: string } }).constructor.composite_type).toBe('accepted');
    expect(broker.deadLetterMessages('q')).toMatchObject([{ body: 'bad', deadLetterReason: 'r', deadLetterErrorDescription: 'd' }]);
  });

  it('refuses a link to an unknown entity with amqp:not-found', async () => {
    broker = await startServiceBusBroker({ queues: [{ name: 'q' }] });
    const c = await connect(broker);
    const receiver = c.open_receiver({ source: { address: 'nope' } });
    const [ctx] = (await once(receiver, 'receiver_close')) as [EventContext];
    expect((ctx.receiver?.error as { condition?: string } | undefined)?.condition).toBe('amqp:not-found');
  });

  // Timers are checked in broker.close.test.ts: inside vitest its own timers blur the count.
  it('close() ends live connections and frees the port', async () => {
    const watched = ['TCPServerWrap', 'TCPSocketWrap'];
    const count = () => process.getActiveResourcesInfo().filter((r) => watched.includes(r)).length;
    const baseline = count(); console.log('BASE', process.getActiveResourcesInfo());
    const b = await startServiceBusBroker({ queues: [{ name: 'q', lockDurationMs: 60_000 }] });
    const c = await connect(b);
    const future = new Date(Date.now() + 60_000);
    await send(c, 'q', [{ body: 'locked' }, { body: 'later', message_annotations: { 'x-opt-scheduled-enqueue-time': future } }]);
    const receiver = c.open_receiver({ source: { address: 'q' }, credit_window: 0, autoaccept: false, rcv_settle_mode: 1 });
    receiver.on('message', () => undefined);
    await once(receiver, 'receiver_open');
    receiver.add_credit(5); // one message stays locked
    await expect.poll(() => b.activeMessages('q')[0]?.state).toBe('locked');

    const disconnected = once(c, 'connection_close');
    await b.close();
    await disconnected;
    connection = undefined;
    expect(b.scheduledMessages('q')).toHaveLength(1);

    const probe = createServer();
    await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(b.port, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    console.log('AFTER', process.getActiveResourcesInfo()); await expect.poll(count).toBe(baseline);
  });
});
