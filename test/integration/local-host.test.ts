import type { HttpRequest, InvocationContext, Timer } from '@azure/functions';
import { ServiceBusClient } from '@azure/service-bus';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { installFakeCore, type FakeCore, type RegisteredFunction } from '../../dev/functionsHost/fakeCore';
import { startHttpHost, type HttpHost } from '../../dev/functionsHost/httpHost';
import { startServiceBusHost, type ServiceBusHost, type SettledOutcome } from '../../dev/functionsHost/serviceBusHost';
import { startTimerHost, type TimerHost } from '../../dev/functionsHost/timerHost';
import { startServiceBusBroker, type ServiceBusBroker } from '../../dev/serviceBus/broker';
import { brokerQueueOptions, readQueueProperties } from '../../dev/serviceBus/queueProperties';

/**
 * The local Functions host's pieces (dev/functionsHost) with functions registered through the real
 * @azure/functions library (its `app.*` calls land in the fake @azure/functions-core, with the metadata
 * the Functions host would get), against the real Service Bus client and the loopback broker.
 */
const root = resolve(__dirname, '../..');
const QUEUE = 'appointments';
const KEY = 'integration-key';

let core: FakeCore;
let fns: Map<string, RegisteredFunction>;
const calls = new Map<string, Array<{ at: number; args: unknown[] }>>();
const record = (name: string, ...args: unknown[]) => {
  const list = calls.get(name) ?? [];
  list.push({ at: Date.now(), args });
  calls.set(name, list);
};
const only = (...names: string[]) => names.map((n) => fns.get(n)!);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, probe: () => boolean, timeoutMs = 15_000, detail: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${detail()}`);
    await sleep(20);
  }
}

/** What the slow functions do on their first delivery: sleep past the lock, then succeed or throw. */
let slowFirstDeliveryMs = 0;

beforeAll(async () => {
  core = installFakeCore();
  // Loaded after the fake core is in place, as the Functions host's worker loads the app.
  const { app } = await import('@azure/functions');
  app.serviceBusQueue('alwaysThrows', {
    connection: 'ServiceBusConnection',
    queueName: '%APPOINTMENTS_QUEUE%',
    handler: (message: unknown, context: InvocationContext) => {
      record('alwaysThrows', message, context.triggerMetadata);
      throw new Error('this handler always throws');
    },
  });
  app.serviceBusQueue('slowComplete', {
    connection: 'ServiceBusConnection',
    queueName: 'short-lock',
    handler: async (message: unknown, context: InvocationContext) => {
      record('slowComplete', message, context.triggerMetadata);
      if (context.triggerMetadata?.deliveryCount === 1) await sleep(slowFirstDeliveryMs);
    },
  });
  app.serviceBusQueue('slowThrow', {
    connection: 'ServiceBusConnection',
    queueName: 'short-lock',
    handler: async (message: unknown, context: InvocationContext) => {
      record('slowThrow', message, context.triggerMetadata);
      if (context.triggerMetadata?.deliveryCount === 1) {
        await sleep(slowFirstDeliveryMs);
        throw new Error('failed after its lock expired');
      }
    },
  });
  app.timer('everySecond', {
    schedule: '%TEST_TIMER_SCHEDULE%',
    handler: (timer: Timer, context: InvocationContext) => record('everySecond', timer, context.functionName),
  });
  // Registered before the literal route on purpose: precedence must not depend on registration order.
  app.http('itemById', { methods: ['GET'], authLevel: 'function', route: 'items/{id}', handler: (req: HttpRequest) => ({ jsonBody: { fn: 'itemById', params: req.params } }) });
  app.http('itemSpecial', { methods: ['GET'], authLevel: 'function', route: 'items/special', handler: () => ({ jsonBody: { fn: 'itemSpecial' } }) });
  app.http('itemCreate', { methods: ['POST'], authLevel: 'function', route: 'items', handler: () => ({ status: 201, jsonBody: { fn: 'itemCreate' } }) });
  app.http('docs', { methods: ['GET'], authLevel: 'function', route: 'docs/{page?}', handler: (req: HttpRequest) => ({ jsonBody: { fn: 'docs', page: req.params.page ?? null } }) });
  app.http('health', { methods: ['GET'], authLevel: 'anonymous', route: 'health', handler: () => ({ body: 'ok' }) });
  app.http('broken', { methods: ['GET'], authLevel: 'function', route: 'broken', handler: () => Promise.reject(new Error('boom')) });
  fns = core.functions;
});

afterAll(() => core?.uninstall());

describe('Service Bus trigger (peek-lock on the loopback broker)', () => {
  let broker: ServiceBusBroker;
  let host: ServiceBusHost | undefined;
  let client: ServiceBusClient;
  const settled: SettledOutcome[] = [];
  const logs: string[] = [];

  beforeAll(async () => {
    broker = await startServiceBusBroker({
      queues: [brokerQueueOptions(QUEUE, readQueueProperties(root)), { name: 'short-lock', lockDurationMs: 1_000, maxDeliveryCount: 10 }],
    });
    client = new ServiceBusClient(broker.connectionString);
  });
  afterEach(async () => {
    await host?.close();
    host = undefined;
    settled.length = 0;
  });
  afterAll(async () => {
    await client?.close();
    await broker?.close();
  });

  const diagnostics = () => `settled: ${JSON.stringify(settled)}\nlog:\n${logs.join('\n')}\nshort-lock: ${JSON.stringify(broker.stats('short-lock'))}`;
  const start = (functions: RegisteredFunction[], extra: { maxAutoLockRenewalDurationMs?: number } = {}) => {
    host = startServiceBusHost({
      functions,
      env: { ServiceBusConnection: broker.connectionString, APPOINTMENTS_QUEUE: QUEUE },
      maxConcurrentCalls: 4,
      log: (line) => logs.push(line),
      onSettled: (outcome) => settled.push(outcome),
      ...extra,
    });
  };

  it('abandons a message whose handler throws until the queue dead-letters it at the max delivery count of infra/appointments-queue.json', async () => {
    const { maxDeliveryCount } = JSON.parse(readFileSync(resolve(root, 'infra/appointments-queue.json'), 'utf8')) as { maxDeliveryCount: number };
    // the count the infra gives the real queue
    expect(readFileSync(resolve(root, 'infra/modules/servicebus.bicep'), 'utf8')).toMatch(/^\s+maxDeliveryCount: queue\.maxDeliveryCount$/m);
    expect(maxDeliveryCount).toBeGreaterThan(1);

    start(only('alwaysThrows'));
    await client.createSender(QUEUE).sendMessages({ messageId: 'poison-1', body: { hello: 'world' } });
    await until('the message to be dead-lettered', () => broker.deadLetterMessages(QUEUE).length === 1);
    await sleep(300); // nothing may deliver it again once it is dead-lettered
    const invocations = calls.get('alwaysThrows') ?? [];
    expect(invocations).toHaveLength(maxDeliveryCount);
    expect(invocations.map((c) => (c.args[1] as { deliveryCount: number }).deliveryCount)).toEqual(Array.from({ length: maxDeliveryCount }, (_, i) => i + 1));
    expect(invocations.every((c) => JSON.stringify(c.args[0]) === '{"hello":"world"}')).toBe(true);
    expect(settled).toHaveLength(maxDeliveryCount);
    expect(settled.every((s) => s.ok === false && s.settlementError === undefined && s.messageId === 'poison-1')).toBe(true);
    expect(broker.stats(QUEUE)).toMatchObject({ abandoned: maxDeliveryCount, completed: 0, deadLettered: 1 });
    expect(broker.activeMessages(QUEUE)).toEqual([]);

    const dlq = client.createReceiver(QUEUE, { subQueueType: 'deadLetter' });
    const [dead] = await dlq.receiveMessages(1, { maxWaitTimeInMs: 5_000 });
    expect(dead).toMatchObject({
      messageId: 'poison-1',
      deadLetterReason: 'MaxDeliveryCountExceeded',
      deadLetterErrorDescription: `Message could not be consumed after ${maxDeliveryCount} delivery attempts.`,
    });
    await dlq.completeMessage(dead!);
    await dlq.close();
  });

  it('reports a complete that fails on a lost lock as settled, and the message comes back by itself', async () => {
    slowFirstDeliveryMs = 1_600; // past the 1 s lock, with lock renewal off
    start(only('slowComplete'), { maxAutoLockRenewalDurationMs: 0 });
    await client.createSender('short-lock').sendMessages({ messageId: 'slow-ok', body: 'x' });
    await until('two settlements', () => settled.length >= 2, 15_000, diagnostics);
    const first = settled.find((s) => s.settlementError !== undefined);
    expect(first).toMatchObject({ functionName: 'slowComplete', messageId: 'slow-ok', ok: true });
    expect(first!.settlementError).toMatch(/lock/i);
    expect(settled.filter((s) => s.settlementError === undefined)).toEqual([{ functionName: 'slowComplete', messageId: 'slow-ok', ok: true }]);
    expect(logs.some((l) => /message slow-ok: complete failed \(.*lock.*\); Service Bus delivers it again/i.test(l))).toBe(true);
    await until('the redelivery to be completed', () => broker.stats('short-lock').completed === 1);
    expect(broker.stats('short-lock')).toMatchObject({ lockExpirations: 1, deadLettered: 0 });
    expect((calls.get('slowComplete') ?? []).map((c) => (c.args[1] as { deliveryCount: number }).deliveryCount)).toEqual([1, 2]);
  });

  it('reports an abandon that fails on a lost lock as settled (not ok), and the message comes back by itself', async () => {
    slowFirstDeliveryMs = 1_600;
    start(only('slowThrow'), { maxAutoLockRenewalDurationMs: 0 });
    await client.createSender('short-lock').sendMessages({ messageId: 'slow-fail', body: 'y' });
    await until('two settlements', () => settled.length >= 2, 15_000, diagnostics);
    const first = settled.find((s) => s.settlementError !== undefined);
    expect(first).toMatchObject({ functionName: 'slowThrow', messageId: 'slow-fail', ok: false });
    expect(first!.settlementError).toMatch(/lock/i);
    expect(settled.filter((s) => s.settlementError === undefined)).toEqual([{ functionName: 'slowThrow', messageId: 'slow-fail', ok: true }]);
    expect(logs.some((l) => /message slow-fail: abandon failed/.test(l))).toBe(true);
    await until('the redelivery to be completed', () => broker.stats('short-lock').completed === 2);
    expect(broker.stats('short-lock')).toMatchObject({ deadLettered: 0, abandoned: 0 });
  });
});

describe('timer trigger', () => {
  let timers: TimerHost | undefined;
  afterEach(() => timers?.close());

  it('fires on its NCRONTAB schedule, resolved from an app setting, with the timer argument the host passes', async () => {
    const logs: string[] = [];
    timers = startTimerHost({ functions: only('everySecond'), env: { TEST_TIMER_SCHEDULE: '* * * * * *' }, log: (line) => logs.push(line) });
    expect(logs).toContain("[everySecond] timer armed on '%TEST_TIMER_SCHEDULE%'");
    await until('three invocations', () => (calls.get('everySecond') ?? []).length >= 3, 6_000);
    timers.close();
    const invocations = calls.get('everySecond')!.slice(0, 3);
    // each on a whole second (the occurrence it is for), one second apart
    for (const { at, args } of invocations) {
      const timer = args[0] as Timer;
      expect(args[1]).toBe('everySecond');
      expect(timer.isPastDue).toBe(false);
      expect(timer.schedule).toEqual({ adjustForDST: true });
      const next = Date.parse(timer.scheduleStatus.next);
      expect(next % 1000).toBe(0);
      expect(at - next).toBeGreaterThanOrEqual(0);
      expect(at - next).toBeLessThan(500);
      expect(Date.parse(timer.scheduleStatus.lastUpdated)).toBeGreaterThanOrEqual(next);
    }
    const occurrences = invocations.map(({ args }) => Date.parse((args[0] as Timer).scheduleStatus.next));
    expect([occurrences[1]! - occurrences[0]!, occurrences[2]! - occurrences[1]!]).toEqual([1000, 1000]);
    // scheduleStatus.last is the occurrence the previous invocation was for
    expect((invocations[1]!.args[0] as Timer).scheduleStatus.last).toBe((invocations[0]!.args[0] as Timer).scheduleStatus.next);
    expect((invocations[2]!.args[0] as Timer).scheduleStatus.last).toBe((invocations[1]!.args[0] as Timer).scheduleStatus.next);
  });
});

describe('HTTP trigger', () => {
  let http: HttpHost;
  beforeAll(async () => {
    http = await startHttpHost({ functions: only('itemById', 'itemSpecial', 'itemCreate', 'docs', 'health', 'broken'), functionKey: KEY, routePrefix: 'api' });
  });
  afterAll(() => http?.close());

  const get = async (path: string, init: RequestInit = {}) => {
    const response = await fetch(`${http.url}${path}`, init);
    const text = await response.text();
    return { status: response.status, text, json: () => JSON.parse(text) as Record<string, unknown> };
  };
  const withKey = { headers: { 'x-functions-key': KEY } };

  it('routes a literal segment before a parameter, whatever the registration order', async () => {
    expect((await get('/api/items/special', withKey)).json()).toEqual({ fn: 'itemSpecial' });
    expect((await get('/api/items/42', withKey)).json()).toEqual({ fn: 'itemById', params: { id: '42' } });
    expect((await get('/api/ITEMS/special', withKey)).json()).toEqual({ fn: 'itemSpecial' }); // literals are case-insensitive
    expect((await get('/api/items/a%20b', withKey)).json()).toEqual({ fn: 'itemById', params: { id: 'a b' } });
    expect((await get('/api/docs', withKey)).json()).toEqual({ fn: 'docs', page: null });
    expect((await get('/api/docs/intro', withKey)).json()).toEqual({ fn: 'docs', page: 'intro' });
  });

  it('asks for the function key (401 without it or with a wrong one), as ?code= or x-functions-key', async () => {
    expect((await get('/api/items/42')).status).toBe(401);
    expect((await get('/api/items/42', { headers: { 'x-functions-key': 'wrong' } })).status).toBe(401);
    expect((await get('/api/items/42?code=wrong')).status).toBe(401);
    expect((await get('/api/items', { method: 'POST' })).status).toBe(401);
    expect((await get(`/api/items/42?code=${KEY}`)).status).toBe(200);
    expect((await get('/api/items', { method: 'POST', ...withKey })).status).toBe(201);
    // authLevel anonymous needs none
    expect(await get('/api/health')).toMatchObject({ status: 200, text: 'ok' });
  });

  it('answers 404 for no matching route, and — as the Functions host does — for a method the route does not accept', async () => {
    expect((await get('/api/nothing-here', withKey)).status).toBe(404);
    expect((await get('/api/items/1/2', withKey)).status).toBe(404);
    expect((await get('/items/42', withKey)).status).toBe(404); // outside the route prefix
    // The Functions host matches the method as part of the route: DELETE on a GET route is 404, not 405.
    expect((await get('/api/items/42', { method: 'DELETE', ...withKey })).status).toBe(404);
    expect((await get('/api/items', withKey)).status).toBe(404); // items is POST only
    // no key and a wrong method: still 404 (the route does not exist for that method)
    expect((await get('/api/items/42', { method: 'DELETE' })).status).toBe(404);
  });

  it('answers 500 when the function throws', async () => {
    expect((await get('/api/broken', withKey)).status).toBe(500);
  });
});
