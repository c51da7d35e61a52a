/**
 * Fault injection, concurrency tracking and Retry-After bookkeeping of the Entra/Graph simulator —
 * the instruments that later tests and benchmarks assert with.
 */
import { ClientSecretCredential } from '@azure/identity';
import { Client } from '@microsoft/microsoft-graph-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startEntraGraphSimulator, type EntraGraphSimulator, type GraphFault } from './entraGraph';
import { ensureTestCaTrusted, testTlsOptions } from './tls';

ensureTestCaTrusted();

const TENANT = '7b1d2c3e-4f50-4617-8829-3a4b5c6d7e8f';
const CLIENT = 'aa11bb22-cc33-4d44-8e55-ff6677889900';
const A = 'resource-a@tailspin.example';
const B = 'resource-b@tailspin.example';

let sim: EntraGraphSimulator;
let token: string;

async function call(mailbox: string, init: { method?: string; body?: unknown; signal?: AbortSignal } = {}): Promise<Response> {
  return fetch(`${sim.url}/v1.0/users/${encodeURIComponent(mailbox)}/events`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    ...(init.signal ? { signal: init.signal } : {}),
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeEach(async () => {
  sim = await startEntraGraphSimulator();
  sim.addApp({ tenantId: TENANT, clientId: CLIENT, clientSecret: 'secret' });
  sim.addMailbox(A, { tenantId: TENANT });
  sim.addMailbox(B, { tenantId: TENANT });
  token = sim.issueToken(TENANT, CLIENT).accessToken;
});

afterEach(async () => {
  await sim.close();
});

describe('concurrency tracking', () => {
  it('records current and maximum in-flight requests per mailbox and globally', async () => {
    sim.setLatency(150);
    const pending = [...Array.from({ length: 6 }, () => call(A)), ...Array.from({ length: 2 }, () => call(B))];
    await expect.poll(() => sim.mailboxStats(A).inFlight).toBe(6);
    expect(sim.mailboxStats(B).inFlight).toBe(2);
    expect(sim.graphTotals().inFlight).toBe(8);
    const statuses = (await Promise.all(pending)).map((r) => r.status);
    expect(statuses).toEqual(Array(8).fill(200));
    expect(sim.mailboxStats(A)).toMatchObject({ inFlight: 0, maxInFlight: 6, reads: 6 });
    expect(sim.mailboxStats(B)).toMatchObject({ inFlight: 0, maxInFlight: 2 });
    expect(sim.graphTotals().maxInFlight).toBe(8);
    expect(sim.maxInFlightPerMailbox()).toBe(6);
  });

  it('sees a client that limits itself to 4 per mailbox as never above 4', async () => {
    sim.setLatency(40, A);
    let active = 0;
    const waiting: Array<() => void> = [];
    const limited = async () => {
      while (active >= 4) await new Promise<void>((resolve) => waiting.push(resolve));
      active++;
      try {
        return (await call(A, { body: { subject: 'x' } })).status;
      } finally {
        active--;
        waiting.shift()?.();
      }
    };
    const statuses = await Promise.all(Array.from({ length: 20 }, limited));
    expect(statuses).toEqual(Array(20).fill(201));
    expect(sim.mailboxStats(A).maxInFlight).toBe(4);
    expect(sim.mailboxStats(A).eventsCreated).toBe(20);
  });

  it("optionally enforces Outlook's MailboxConcurrency limit with 429 + Retry-After", async () => {
    sim.setMailboxConcurrencyLimit(4, 2);
    sim.setLatency(150, A);
    const responses = await Promise.all(Array.from({ length: 6 }, () => call(A)));
    const throttled = responses.filter((r) => r.status === 429);
    expect(throttled).toHaveLength(2);
    expect(throttled.every((r) => r.headers.get('retry-after') === '2')).toBe(true);
    expect(((await throttled[0]!.json()) as { error: { code: string } }).error.code).toBe('ApplicationThrottled');
    expect(sim.mailboxStats(A).throttled).toBe(2);
  });
});

describe('Retry-After bookkeeping', () => {
  it('records how long a client waited after each Retry-After answer', async () => {
    sim.injectGraphFault({ kind: 'throttle', retryAfterSeconds: 1 }, { mailbox: A });
    const first = await call(A, { body: { subject: 'polite' } });
    expect(first.status).toBe(429);
    await sleep(Number(first.headers.get('retry-after')) * 1000);
    expect((await call(A, { body: { subject: 'polite' } })).status).toBe(201);

    sim.injectGraphFault({ kind: 'throttle', retryAfterSeconds: 5 }, { mailbox: B });
    expect((await call(B)).status).toBe(429);
    expect((await call(B)).status).toBe(200); // impatient: retried at once

    const [polite] = sim.retryAfterObservations(A);
    expect(polite).toMatchObject({ mailbox: A, status: 429, retryAfterSeconds: 1, honoured: true });
    expect(polite?.waitedMs).toBeGreaterThanOrEqual(950);
    const [impatient] = sim.retryAfterObservations(B);
    expect(impatient).toMatchObject({ mailbox: B, retryAfterSeconds: 5, honoured: false });
    expect(impatient?.waitedMs).toBeLessThan(1000);
    expect(sim.retryAfterObservations()).toHaveLength(2);
  });

  it("the Graph client's default middleware (RetryHandler) honours Retry-After — and re-sends POSTs", async () => {
    const credential = new ClientSecretCredential(TENANT, CLIENT, 'secret', { authorityHost: sim.url, disableInstanceDiscovery: true });
    const client = Client.initWithMiddleware({
      authProvider: { getAccessToken: async () => (await credential.getToken('https://graph.microsoft.com/.default')).token },
      baseUrl: sim.graphBaseUrl,
      customHosts: new Set([sim.graphHost]),
    });
    sim.injectGraphFault({ kind: 'throttle', retryAfterSeconds: 1 }, { mailbox: A, method: 'POST' });
    const created = (await client.api(`/users/${A}/events`).post({ subject: 'retried by the SDK' })) as { id: string };
    expect(created.id).toBeTruthy();
    expect(sim.requests({ mailbox: A }).map((r) => `${r.method} ${r.status}`)).toEqual(['POST 429', 'POST 201']);
    expect(sim.retryAfterObservations(A)[0]).toMatchObject({ honoured: true });
  });
});

describe('fault plan', () => {
  it('serves queued faults in order, per mailbox before global, filtered by method, then answers normally', async () => {
    sim.injectGraphFault({ kind: 'unavailable' }, { times: 2 });
    sim.injectGraphFault({ kind: 'gatewayTimeout' }, { mailbox: A, method: 'POST' });
    expect(sim.pendingGraphFaults()).toBe(2);
    expect(sim.pendingGraphFaults(A)).toBe(1);

    expect((await call(A)).status).toBe(503); // GET: A's POST-only fault does not match, global does
    expect((await call(A, { body: {} })).status).toBe(504);
    expect((await call(B)).status).toBe(503);
    expect((await call(B)).status).toBe(200);
    expect(sim.pendingGraphFaults()).toBe(0);
    expect(sim.requests({ service: 'graph' }).map((r) => r.fault ?? '-')).toEqual(['unavailable', 'gatewayTimeout', 'unavailable', '-']);

    sim.injectGraphFault({ kind: 'throttle' }, { mailbox: A, times: Infinity });
    for (let i = 0; i < 3; i++) expect((await call(A)).status).toBe(429);
    sim.clearFaults();
    expect((await call(A)).status).toBe(200);
  });

  it('delay answers normally but late', async () => {
    sim.injectGraphFault({ kind: 'delay', ms: 200 }, { mailbox: A });
    const started = performance.now();
    expect((await call(A)).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
  });

  it('chaos is reproducible from its seed', async () => {
    const faults: GraphFault[] = [{ kind: 'throttle', retryAfterSeconds: 0 }, { kind: 'unavailable' }, { kind: 'gatewayTimeout' }];
    const run = async (): Promise<number[]> => {
      sim.clearFaults();
      sim.graphChaos({ probability: 0.3, seed: 42, faults });
      const statuses: number[] = [];
      for (let i = 0; i < 60; i++) statuses.push((await call(A)).status);
      return statuses;
    };
    const first = await run();
    const second = await run();
    expect(second).toEqual(first);
    const failures = first.filter((s) => s !== 200).length;
    expect(failures).toBeGreaterThan(6);
    expect(failures).toBeLessThan(36);
    expect(new Set(first)).toEqual(new Set([200, 429, 503, 504]));
  });

  it('token endpoint chaos and queues are scoped by client id', async () => {
    sim.failTokenRequests({ kind: 'status', status: 500 }, { clientId: 'someone-else' });
    const credential = new ClientSecretCredential(TENANT, CLIENT, 'secret', { authorityHost: sim.url, disableInstanceDiscovery: true });
    await expect(credential.getToken('https://graph.microsoft.com/.default')).resolves.toBeTruthy();
    expect(sim.tokenRequests(CLIENT)).toBe(1);
    expect(sim.tokenRequests('someone-else')).toBe(0);
  });
});

describe('lifecycle', () => {
  it('close() ends hung requests and idle keep-alive sockets at once', async () => {
    sim.injectGraphFault({ kind: 'hang' }, { mailbox: A });
    expect((await call(B)).status).toBe(200); // leaves an idle keep-alive connection behind
    const hung = call(A).then(
      (r) => `status ${r.status}`,
      (e: Error & { cause?: { code?: string } }) => `error ${e.cause?.code ?? e.message}`,
    );
    await expect.poll(() => sim.mailboxStats(A).inFlight).toBe(1);
    const started = performance.now();
    await sim.close();
    expect(performance.now() - started).toBeLessThan(500);
    expect(await hung).toMatch(/^error /);
    sim = await startEntraGraphSimulator(); // for afterEach
  });

  it('one credential → one token request for many Graph calls (the benchmark counter)', async () => {
    const credential = new ClientSecretCredential(TENANT, CLIENT, 'secret', { authorityHost: sim.url, disableInstanceDiscovery: true });
    for (let i = 0; i < 25; i++) {
      const { token: t } = await credential.getToken('https://graph.microsoft.com/.default');
      const res = await fetch(`${sim.url}/v1.0/users/${A}/events`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${t}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ subject: `m${i}`, transactionId: `tx-${i}` }),
      });
      expect(res.status).toBe(201);
    }
    expect(sim.tokenRequests(CLIENT)).toBe(1);
    expect(sim.mailboxStats(A).eventsCreated).toBe(25);
    expect(sim.events(A)).toHaveLength(25);
  });

  it('testTlsOptions() finds the repository certificates', () => {
    const { cert, key } = testTlsOptions();
    expect(cert.toString()).toContain('BEGIN CERTIFICATE');
    expect(key.toString()).toMatch(/BEGIN (RSA |EC )?PRIVATE KEY/);
  });
});
