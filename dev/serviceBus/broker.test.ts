import {
  ServiceBusClient,
  isServiceBusError,
  type ServiceBusReceivedMessage,
  type ServiceBusReceiver,
} from '@azure/service-bus';
import { afterEach, describe, expect, it } from 'vitest';
import { startServiceBusBroker, type ServiceBusBroker, type ServiceBusBrokerOptions } from './broker';

interface Env {
  broker: ServiceBusBroker;
  client: ServiceBusClient;
}

let env: Env | undefined;

async function setup(options: ServiceBusBrokerOptions = { queues: [{ name: 'appointments' }] }): Promise<Env> {
  const broker = await startServiceBusBroker(options);
  const client = new ServiceBusClient(broker.connectionString, { retryOptions: { maxRetries: 1, retryDelayInMs: 50 } });
  env = { broker, client };
  return env;
}

afterEach(async () => {
  // Client first: a client whose broker vanished would start reconnecting.
  await env?.client.close();
  await env?.broker.close();
  env = undefined;
});

/** receiveMessages() may return fewer than asked; collect until `count` or the deadline. */
async function receiveExactly(receiver: ServiceBusReceiver, count: number, timeoutMs = 5_000): Promise<ServiceBusReceivedMessage[]> {
  const deadline = Date.now() + timeoutMs;
  const received: ServiceBusReceivedMessage[] = [];
  while (received.length < count && Date.now() < deadline) {
    const batch = await receiver.receiveMessages(count - received.length, { maxWaitTimeInMs: Math.max(50, deadline - Date.now()) });
    received.push(...batch);
  }
  return received;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Service Bus test broker, driven by the real @azure/service-bus client', () => {
  it('accepts single, array and createBatch sends and hands them out in order with broker annotations', async () => {
    const { broker, client } = await setup();
    const sender = client.createSender('appointments');
    await sender.sendMessages({ body: { id: 'a1' }, applicationProperties: { tenant: 't1', attempt: 3 }, subject: 'created' });
    await sender.sendMessages([{ body: 'b1' }, { body: 'b2', messageId: 'fixed-id' }]);
    const batch = await sender.createMessageBatch();
    expect(batch.maxSizeInBytes).toBe(256 * 1024); // advertised on the attach
    expect(batch.tryAddMessage({ body: Buffer.from([1, 2, 3]) })).toBe(true);
    expect(batch.tryAddMessage({ body: 'c2' })).toBe(true);
    await sender.sendMessages(batch);

    const stored = broker.activeMessages('appointments');
    expect(stored.map((m) => m.body)).toEqual([{ id: 'a1' }, 'b1', 'b2', Buffer.from([1, 2, 3]), 'c2']);
    expect(stored.map((m) => m.sequenceNumber)).toEqual([1, 2, 3, 4, 5]);
    expect(stored[2]?.messageId).toBe('fixed-id');
    expect(stored.every((m) => typeof m.messageId === 'string' && m.messageId.length > 0)).toBe(true);

    const receiver = client.createReceiver('appointments');
    const before = Date.now();
    const received = await receiveExactly(receiver, 5);
    expect(received.map((m) => m.body)).toEqual([{ id: 'a1' }, 'b1', 'b2', Buffer.from([1, 2, 3]), 'c2']);
    const first = received[0]!;
    expect(first.applicationProperties).toEqual({ tenant: 't1', attempt: 3 });
    expect(first.subject).toBe('created');
    expect(first.messageId).toBe(stored[0]?.messageId);
    expect(first.deliveryCount).toBe(0);
    expect(first.sequenceNumber?.toNumber()).toBe(1);
    expect(first.lockToken).toMatch(/^[0-9a-f-]{36}$/);
    expect(first.enqueuedTimeUtc!.getTime()).toBeLessThanOrEqual(Date.now());
    expect(first.lockedUntilUtc!.getTime()).toBeGreaterThanOrEqual(before + 29_000);
    expect(new Set(received.map((m) => m.lockToken)).size).toBe(5);
    expect(broker.stats('appointments')).toMatchObject({ sent: 5, delivered: 5 });
  });

  it('completes a peek-locked message: it is gone for good', async () => {
    const { broker, client } = await setup();
    await client.createSender('appointments').sendMessages({ body: 'done' });
    const receiver = client.createReceiver('appointments');
    const [message] = await receiveExactly(receiver, 1);
    expect(broker.activeMessages('appointments')[0]?.state).toBe('locked');
    await receiver.completeMessage(message!);
    expect(broker.activeMessages('appointments')).toEqual([]);
    expect(await receiver.receiveMessages(1, { maxWaitTimeInMs: 100 })).toEqual([]);
    expect(broker.stats('appointments')).toMatchObject({ completed: 1, abandoned: 0 });
  });

  it('redelivers an abandoned message with deliveryCount 1 and the modified properties', async () => {
    const { broker, client } = await setup();
    await client.createSender('appointments').sendMessages({ body: 'retry me', applicationProperties: { a: 1 } });
    const receiver = client.createReceiver('appointments');
    const [first] = await receiveExactly(receiver, 1);
    await receiver.abandonMessage(first!, { note: 'abandoned once' });
    const [again] = await receiveExactly(receiver, 1);
    expect(again?.body).toBe('retry me');
    expect(again?.deliveryCount).toBe(1);
    expect(again?.lockToken).not.toBe(first?.lockToken);
    expect(again?.applicationProperties).toEqual({ a: 1, note: 'abandoned once' });
    expect(broker.stats('appointments')).toMatchObject({ abandoned: 1, delivered: 2 });
  });

  it('dead-letters with a reason; the message is receivable from the dead-letter sub-queue', async () => {
    const { broker, client } = await setup();
    await client.createSender('appointments').sendMessages({ body: 'poison' });
    const receiver = client.createReceiver('appointments');
    const [message] = await receiveExactly(receiver, 1);
    await receiver.deadLetterMessage(message!, { deadLetterReason: 'DSCFG004', deadLetterErrorDescription: 'Schema mismatch' });

    expect(broker.activeMessages('appointments')).toEqual([]);
    expect(broker.deadLetterMessages('appointments')).toMatchObject([
      { body: 'poison', deadLetterReason: 'DSCFG004', deadLetterErrorDescription: 'Schema mismatch', deadLetterSource: 'appointments' },
    ]);
    const dlq = client.createReceiver('appointments', { subQueueType: 'deadLetter' });
    expect(dlq.entityPath).toBe('appointments/$DeadLetterQueue');
    const [dead] = await receiveExactly(dlq, 1);
    expect(dead).toMatchObject({ body: 'poison', deadLetterReason: 'DSCFG004', deadLetterErrorDescription: 'Schema mismatch', deadLetterSource: 'appointments' });
    expect(dead?.sequenceNumber?.toNumber()).toBe(message?.sequenceNumber?.toNumber());
    await dlq.completeMessage(dead!);
    expect(broker.deadLetterMessages('appointments')).toEqual([]);
    expect(broker.stats('appointments')).toMatchObject({ deadLettered: 1 });
  });

  it('dead-letters automatically after maxDeliveryCount deliveries', async () => {
    const { broker, client } = await setup({ queues: [{ name: 'appointments', maxDeliveryCount: 3 }] });
    await client.createSender('appointments').sendMessages({ body: 'never works' });
    const receiver = client.createReceiver('appointments');
    const counts: number[] = [];
    for (let i = 0; i < 3; i++) {
      const [message] = await receiveExactly(receiver, 1);
      counts.push(message!.deliveryCount!);
      await receiver.abandonMessage(message!);
    }
    expect(counts).toEqual([0, 1, 2]);
    expect(await receiver.receiveMessages(1, { maxWaitTimeInMs: 100 })).toEqual([]);
    const [dead] = await receiveExactly(client.createReceiver('appointments', { subQueueType: 'deadLetter' }), 1);
    expect(dead?.deadLetterReason).toBe('MaxDeliveryCountExceeded');
    expect(dead?.deliveryCount).toBe(3);
  });

  it('redelivers when a lock expires; settling with the stale lock fails with MessageLockLost', async () => {
    const { broker, client } = await setup({ queues: [{ name: 'appointments', lockDurationMs: 300 }] });
    await client.createSender('appointments').sendMessages({ body: 'slow consumer' });
    const receiver = client.createReceiver('appointments', { maxAutoLockRenewalDurationInMs: 0 });
    const [first] = await receiveExactly(receiver, 1);
    const [again] = await receiveExactly(receiver, 1, 3_000);
    expect(again?.deliveryCount).toBe(1);
    await expect(receiver.completeMessage(first!)).rejects.toMatchObject({ code: 'MessageLockLost' });
    await receiver.completeMessage(again!);
    expect(broker.stats('appointments')).toMatchObject({ lockExpirations: 1, completed: 1 });
  });

  it('renews a lock through $management', async () => {
    const { client } = await setup({ queues: [{ name: 'appointments', lockDurationMs: 5_000 }] });
    await client.createSender('appointments').sendMessages({ body: 'long job' });
    const receiver = client.createReceiver('appointments', { maxAutoLockRenewalDurationInMs: 0 });
    const [message] = await receiveExactly(receiver, 1);
    const before = message!.lockedUntilUtc!.getTime();
    await sleep(20);
    const renewed = await receiver.renewMessageLock(message!);
    expect(renewed.getTime()).toBeGreaterThan(before);
    await receiver.completeMessage(message!);
  });

  it('schedules a message: invisible before its time, delivered after, cancellable', async () => {
    const { broker, client } = await setup();
    const sender = client.createSender('appointments');
    const at = new Date(Date.now() + 800);
    const [seq] = await sender.scheduleMessages({ body: 'later' }, at);
    const [cancelSeq] = await sender.scheduleMessages({ body: 'never' }, at);
    expect(seq?.toNumber()).toBe(1);
    await sender.cancelScheduledMessages(cancelSeq!);
    expect(broker.scheduledMessages('appointments').map((m) => m.body)).toEqual(['later']);

    const receiver = client.createReceiver('appointments');
    expect(await receiver.receiveMessages(1, { maxWaitTimeInMs: 200 })).toEqual([]);
    const peeked = await receiver.peekMessages(5);
    expect(peeked.map((m) => [m.body, m.state])).toEqual([['later', 'scheduled']]);

    const [message] = await receiveExactly(receiver, 1, 3_000);
    expect(message?.body).toBe('later');
    expect(Date.now()).toBeGreaterThanOrEqual(at.getTime());
    expect(message?.scheduledEnqueueTimeUtc?.getTime()).toBe(at.getTime());
    expect(broker.stats('appointments')).toMatchObject({ scheduled: 2, cancelled: 1 });
  });

  it('treats scheduledEnqueueTimeUtc on a plain send as a scheduled message', async () => {
    const { broker, client } = await setup();
    await client.createSender('appointments').sendMessages({ body: 'x', scheduledEnqueueTimeUtc: new Date(Date.now() + 60_000) });
    expect(broker.scheduledMessages('appointments')).toHaveLength(1);
    expect(broker.activeMessages('appointments')).toEqual([]);
  });

  it('drops a duplicate message_id inside the detection window and accepts it after', async () => {
    const { broker, client } = await setup({ queues: [{ name: 'appointments', duplicateDetectionWindowMs: 300 }] });
    const sender = client.createSender('appointments');
    await sender.sendMessages({ body: 'v1', messageId: 'appt-1' });
    await sender.sendMessages({ body: 'v1 again', messageId: 'appt-1' });
    await sender.sendMessages([{ body: 'v2', messageId: 'appt-2' }, { body: 'v2 again', messageId: 'appt-2' }]);
    expect(broker.activeMessages('appointments').map((m) => m.body)).toEqual(['v1', 'v2']);
    expect(broker.stats('appointments')).toMatchObject({ sent: 4, duplicatesDropped: 2 });
    await sleep(350);
    await sender.sendMessages({ body: 'v1 later', messageId: 'appt-1' });
    expect(broker.activeMessages('appointments').map((m) => m.body)).toEqual(['v1', 'v2', 'v1 later']);
  });

  it('does no duplicate detection on a queue without a window', async () => {
    const { broker, client } = await setup();
    const sender = client.createSender('appointments');
    await sender.sendMessages([{ body: 1, messageId: 'same' }, { body: 2, messageId: 'same' }]);
    expect(broker.activeMessages('appointments')).toHaveLength(2);
  });

  it('drops an expired message, or dead-letters it when the queue says so', async () => {
    const { broker, client } = await setup({
      queues: [{ name: 'appointments' }, { name: 'strict', deadLetteringOnMessageExpiration: true }],
    });
    await client.createSender('appointments').sendMessages({ body: 'stale', timeToLive: 50 });
    await client.createSender('strict').sendMessages({ body: 'stale', timeToLive: 50 });
    await sleep(80);
    expect(await client.createReceiver('appointments').receiveMessages(1, { maxWaitTimeInMs: 100 })).toEqual([]);
    expect(await client.createReceiver('strict').receiveMessages(1, { maxWaitTimeInMs: 100 })).toEqual([]);
    expect(broker.stats('appointments')).toMatchObject({ expired: 1, deadLettered: 0 });
    expect(broker.deadLetterMessages('strict')).toMatchObject([{ body: 'stale', deadLetterReason: 'TTLExpiredException' }]);
  });

  it('feeds subscribe() handlers and auto-completes what they processed', async () => {
    const { broker, client } = await setup();
    await client.createSender('appointments').sendMessages([1, 2, 3, 4, 5].map((n) => ({ body: n })));
    const receiver = client.createReceiver('appointments');
    const seen: unknown[] = [];
    const errors: unknown[] = [];
    const allSeen = new Promise<void>((resolve) => {
      const subscription = receiver.subscribe(
        {
          processMessage: async (message) => {
            seen.push(message.body);
            if (seen.length === 5) void subscription.close().then(resolve);
          },
          processError: async (args) => {
            errors.push(args.error);
          },
        },
        { maxConcurrentCalls: 2 },
      );
    });
    await allSeen;
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect(errors).toEqual([]);
    await expect.poll(() => broker.stats('appointments').completed).toBe(5);
    expect(broker.activeMessages('appointments')).toEqual([]);
  });

  it('answers the drain of receiveMessages on an empty queue promptly', async () => {
    const { broker, client } = await setup();
    const receiver = client.createReceiver('appointments');
    await receiver.receiveMessages(1, { maxWaitTimeInMs: 100 }); // opens the link
    const started = Date.now();
    for (let i = 0; i < 3; i++) {
      expect(await receiver.receiveMessages(10, { maxWaitTimeInMs: 300 })).toEqual([]);
    }
    // An unanswered drain costs the client's 200 ms drain timeout, after which it closes the link
    // and attaches a new one for the next receive.
    expect(broker.stats('appointments').receiverLinks).toBe(1);
    expect(Date.now() - started).toBeLessThan(3 * 300 + 300);
  });

  it('never gives the same message to two concurrent receivers', async () => {
    const { broker, client } = await setup();
    const total = 60;
    const sender = client.createSender('appointments');
    await sender.sendMessages(Array.from({ length: total }, (_, i) => ({ body: i })));
    const drainAll = async (receiver: ServiceBusReceiver): Promise<number[]> => {
      const got: number[] = [];
      for (;;) {
        const batch = await receiver.receiveMessages(7, { maxWaitTimeInMs: 150 });
        if (batch.length === 0) return got;
        for (const m of batch) {
          got.push(m.body as number);
          await receiver.completeMessage(m);
        }
      }
    };
    const [a, b] = await Promise.all([drainAll(client.createReceiver('appointments')), drainAll(client.createReceiver('appointments'))]);
    const all = [...a, ...b].sort((x, y) => x - y);
    expect(all).toEqual(Array.from({ length: total }, (_, i) => i));
    expect(a.length).toBeGreaterThan(0);
    expect(b.length).toBeGreaterThan(0);
    expect(broker.stats('appointments')).toMatchObject({ delivered: total, completed: total });
  });

  it('supports receiveAndDelete', async () => {
    const { broker, client } = await setup();
    await client.createSender('appointments').sendMessages([{ body: 'x' }, { body: 'y' }]);
    const receiver = client.createReceiver('appointments', { receiveMode: 'receiveAndDelete' });
    const received = await receiveExactly(receiver, 2);
    expect(received.map((m) => m.body)).toEqual(['x', 'y']);
    expect(received[0]?.lockToken).toBeUndefined();
    expect(broker.activeMessages('appointments')).toEqual([]);
    expect(broker.stats('appointments')).toMatchObject({ receivedAndDeleted: 2 });
  });

  it('defers messages and settles them by sequence number through $management', async () => {
    const { broker, client } = await setup();
    await client.createSender('appointments').sendMessages([{ body: 'complete me' }, { body: 'dead-letter me' }, { body: 'abandon me' }]);
    const receiver = client.createReceiver('appointments');
    const received = await receiveExactly(receiver, 3);
    for (const m of received) await receiver.deferMessage(m);
    expect(broker.deferredMessages('appointments')).toHaveLength(3);
    expect(await receiver.receiveMessages(1, { maxWaitTimeInMs: 100 })).toEqual([]);

    const deferred = await receiver.receiveDeferredMessages(received.map((m) => m.sequenceNumber!));
    expect(deferred.map((m) => [m.body, m.deliveryCount])).toEqual([['complete me', 1], ['dead-letter me', 1], ['abandon me', 1]]);
    await receiver.completeMessage(deferred[0]!);
    await receiver.deadLetterMessage(deferred[1]!, { deadLetterReason: 'DSCFG002', deadLetterErrorDescription: 'Missing field' });
    await receiver.abandonMessage(deferred[2]!);

    expect(broker.deadLetterMessages('appointments')).toMatchObject([{ body: 'dead-letter me', deadLetterReason: 'DSCFG002' }]);
    // An abandoned deferred message stays deferred: still only receivable by sequence number.
    expect(broker.deferredMessages('appointments').map((m) => m.body)).toEqual(['abandon me']);
    expect(await receiver.receiveMessages(1, { maxWaitTimeInMs: 100 })).toEqual([]);
    const [again] = await receiver.receiveDeferredMessages(deferred[2]!.sequenceNumber!);
    expect(again?.deliveryCount).toBe(2);
    await receiver.completeMessage(again!);
    expect(broker.stats('appointments')).toMatchObject({ deferred: 3, completed: 2, deadLettered: 1, abandoned: 1 });
  });

  it('rejects receiving a message by sequence number that was not deferred', async () => {
    const { client } = await setup();
    await client.createSender('appointments').sendMessages({ body: 'active' });
    const receiver = client.createReceiver('appointments');
    const [peeked] = await receiver.peekMessages(1);
    await expect(receiver.receiveDeferredMessages(peeked!.sequenceNumber!)).rejects.toMatchObject({ code: 'MessageNotFound' });
  });

  it('peeks without locking, continuing from the last peeked sequence number', async () => {
    const { broker, client } = await setup();
    await client.createSender('appointments').sendMessages([1, 2, 3].map((n) => ({ body: n })));
    const receiver = client.createReceiver('appointments');
    expect((await receiver.peekMessages(2)).map((m) => m.body)).toEqual([1, 2]);
    expect((await receiver.peekMessages(2)).map((m) => m.body)).toEqual([3]);
    expect(await receiver.peekMessages(2)).toEqual([]);
    expect(broker.stats('appointments').delivered).toBe(0);
  });

  it('refuses an undeclared queue when a topology is declared', async () => {
    const { client } = await setup({ queues: [{ name: 'appointments' }] });
    const error: unknown = await client.createSender('apointments').sendMessages({ body: 1 }).catch((e: unknown) => e);
    expect(isServiceBusError(error) && error.code).toBe('MessagingEntityNotFound');
  });

  it('creates queues on first use when none are declared', async () => {
    const { broker, client } = await setup({});
    await client.createSender('Anything').sendMessages({ body: 1 });
    expect(broker.activeMessages('anything')).toHaveLength(1);
  });
});
