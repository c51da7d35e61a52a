import { randomUUID } from 'node:crypto';
import { realpathSync } from 'node:fs';
import {
  BrokenCircuitError,
  ConsecutiveBreaker,
  IsolatedCircuitError,
  TaskCancelledError,
  TimeoutStrategy,
  circuitBreaker,
  handleAll,
  timeout,
} from 'cockatiel';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  partnerResponses as respond,
  standardWebhookSignature,
  startPartnerSimulator,
  verifyStandardWebhook,
  type PartnerSimulator,
} from './partner';
import { ensureTestCaTrusted, testCaPath } from './tls';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

/** What the error classifier gets to see. */
interface ErrorShape {
  ctor: string | undefined;
  name: string | undefined;
  message: string | undefined;
  code?: unknown;
  cause?: ErrorShape;
}
function shape(error: unknown): ErrorShape | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  const e = error as { name?: string; message?: string; code?: unknown; cause?: unknown };
  const cause = shape(e.cause);
  return {
    ctor: (error as object).constructor?.name,
    name: e.name,
    message: e.message,
    ...(e.code !== undefined ? { code: e.code } : {}),
    ...(cause ? { cause } : {}),
  };
}
async function caught(work: () => Promise<unknown>): Promise<unknown> {
  try {
    await work();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

function signedHeaders(body: string, secret = SECRET, id = `msg_${randomUUID()}`, ts = Math.floor(Date.now() / 1000)) {
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(ts),
    'webhook-signature': standardWebhookSignature(secret, id, ts, body),
  };
}

describe('Standard Webhooks verifier (independent of the product signer)', () => {
  const vector = {
    id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
    timestamp: '1614265330',
    body: '{"test": 2432232314}',
    signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
  };

  it('reproduces the published vector', () => {
    expect(standardWebhookSignature(SECRET, vector.id, vector.timestamp, vector.body)).toBe(vector.signature);
    expect(standardWebhookSignature(SECRET, vector.id, 1614265330, Buffer.from(vector.body))).toBe(vector.signature);
    expect(verifyStandardWebhook(SECRET, vector, vector.body, { nowSeconds: 1614265330 })).toEqual({ valid: true });
  });

  it('accepts any matching v1 entry in a space-separated list, rejects the rest', () => {
    const now = { nowSeconds: 1614265330 };
    const list = `v2,abc= v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= ${vector.signature}`;
    expect(verifyStandardWebhook(SECRET, { ...vector, signature: list }, vector.body, now)).toEqual({ valid: true });
    expect(verifyStandardWebhook(SECRET, vector, '{"test": 2432232315}', now)).toEqual({ valid: false, problem: 'mismatch' });
    expect(verifyStandardWebhook('whsec_' + Buffer.from('other').toString('base64'), vector, vector.body, now)).toEqual({ valid: false, problem: 'mismatch' });
    expect(verifyStandardWebhook(SECRET, { ...vector, signature: 'v2,abc=' }, vector.body, now)).toEqual({ valid: false, problem: 'no-v1-signature' });
    expect(verifyStandardWebhook(SECRET, { ...vector, signature: 'v1,short' }, vector.body, now)).toEqual({ valid: false, problem: 'mismatch' });
    expect(verifyStandardWebhook(SECRET, { id: vector.id, timestamp: vector.timestamp }, vector.body, now)).toEqual({ valid: false, problem: 'missing-headers' });
    expect(verifyStandardWebhook(undefined, vector, vector.body, now)).toEqual({ valid: false, problem: 'no-secret' });
    expect(verifyStandardWebhook(SECRET, { ...vector, timestamp: '1614265330.5' }, vector.body, now)).toEqual({ valid: false, problem: 'bad-timestamp' });
    // default tolerance: 5 minutes either way
    expect(verifyStandardWebhook(SECRET, vector, vector.body, { nowSeconds: 1614265330 + 300 })).toEqual({ valid: true });
    expect(verifyStandardWebhook(SECRET, vector, vector.body, { nowSeconds: 1614265330 + 301 })).toEqual({ valid: false, problem: 'timestamp-out-of-tolerance' });
    expect(verifyStandardWebhook(SECRET, vector, vector.body)).toEqual({ valid: false, problem: 'timestamp-out-of-tolerance' });
  });
});

describe('partner simulator over HTTPS with fetch', () => {
  let sim: PartnerSimulator;
  let caTrust: string;
  const hook = '/hooks/tenant-1';
  const post = (init: RequestInit & { path?: string } = {}): Promise<Response> => {
    const body = typeof init.body === 'string' ? init.body : '{"appointmentId":"a-1","version":3}';
    return fetch(sim.url + (init.path ?? hook), { method: 'POST', body, headers: signedHeaders(body), ...init });
  };

  beforeAll(async () => {
    sim = await startPartnerSimulator({ signingSecret: SECRET });
    // Does NODE_EXTRA_CA_CERTS (set by vitest.config.mts with ??=) make fetch trust the test CA here?
    const fromEnv = process.env['NODE_EXTRA_CA_CERTS'];
    const envIsTestCa = fromEnv !== undefined && fromEnv !== '' && realpathSync(fromEnv) === realpathSync(testCaPath());
    const first = await fetch(sim.url + '/ca-probe', { method: 'POST' }).then(
      () => 'trusted',
      (error: unknown) => String(shape(error)?.cause?.code),
    );
    caTrust = `NODE_EXTRA_CA_CERTS=${fromEnv ?? '(unset)'} → first fetch: ${first}`;
    if (envIsTestCa) expect(first).toBe('trusted');
    else expect(first).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    ensureTestCaTrusted();
  });
  afterAll(async () => {
    await sim?.close();
  });
  beforeEach(() => sim.reset());

  it('trusts the test CA in this worker (env or patched)', async () => {
    console.info(`[partner] ${caTrust}`);
    expect((await fetch(sim.url + '/ca-probe', { method: 'POST' })).status).toBe(204);
  });

  it('records signed deliveries at any path and checks their signature', async () => {
    const body = '{"appointmentId":"a-1","version":3}';
    const headers = signedHeaders(body);
    const res = await fetch(`${sim.url}${hook}?attempt=1`, { method: 'POST', body, headers });
    expect(res.status).toBe(204); // the default answer
    await fetch(sim.url + '/hooks/tenant-2', { method: 'POST', body, headers: { ...headers, 'webhook-signature': 'v1,bm9wZQ==' } });
    await fetch(sim.url + '/hooks/tenant-3', { method: 'POST', body });

    const [first, second, third] = sim.deliveries();
    expect(first).toMatchObject({ seq: 1, method: 'POST', path: hook, url: `${hook}?attempt=1`, body, signatureValid: true, behaviour: 'status' });
    expect(first?.headers['webhook-id']).toBe(headers['webhook-id']);
    expect(first?.receivedAt).toBeInstanceOf(Date);
    expect(second).toMatchObject({ path: '/hooks/tenant-2', signatureValid: false, signatureProblem: 'mismatch' });
    expect(third).toMatchObject({ path: '/hooks/tenant-3', signatureValid: false, signatureProblem: 'missing-headers' });
    expect(sim.deliveries(hook)).toHaveLength(1);

    sim.setSigningSecret(undefined);
    await post();
    expect(sim.deliveries().at(-1)).toMatchObject({ signatureValid: false, signatureProblem: 'no-secret' });
    sim.setSigningSecret(SECRET);
  });

  it('answers 2xx, 4xx and 5xx as queued, per path before global, then the defaults', async () => {
    sim.queue([respond.ok(200), respond.ok(202), respond.ok(204)], hook);
    sim.queue([400, 401, 403, 404, 410, 422, 500, 502, 503].map((status) => respond.status(status, { error: `E${status}` })));
    sim.setDefault(respond.status(418, 'teapot'), '/other');
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await post()).status);
    const bodies: string[] = [];
    for (let i = 0; i < 9; i++) {
      const res = await post();
      statuses.push(res.status);
      bodies.push(await res.text());
    }
    expect(statuses).toEqual([200, 202, 204, 400, 401, 403, 404, 410, 422, 500, 502, 503]);
    expect(bodies[0]).toBe('{"error":"E400"}');
    expect((await post({ path: '/other' })).status).toBe(418);
    expect((await post()).status).toBe(204); // built-in default
    sim.setDefault(respond.status(500));
    expect((await post()).status).toBe(500);
    expect((await post({ path: '/other' })).status).toBe(418); // path default wins
  });

  it('429 with Retry-After (seconds or HTTP date)', async () => {
    const date = new Date(Date.now() + 60_000).toUTCString();
    sim.queue([respond.throttle(30), respond.throttle(date), respond.throttle(5, 503)]);
    const a = await post();
    expect([a.status, a.headers.get('retry-after')]).toEqual([429, '30']);
    const b = await post();
    expect([b.status, b.headers.get('retry-after')]).toEqual([429, date]);
    const c = await post();
    expect([c.status, c.headers.get('retry-after')]).toEqual([503, '5']);
  });

  it('reset: TypeError "fetch failed" with cause Error ECONNRESET (RST) or SocketError UND_ERR_SOCKET (FIN)', async () => {
    sim.queue([respond.reset(), respond.close()]);
    const rst = await caught(() => post());
    console.info('[partner] reset (RST)', JSON.stringify(shape(rst)));
    expect(rst).toBeInstanceOf(TypeError);
    expect(shape(rst)).toMatchObject({
      ctor: 'TypeError',
      name: 'TypeError',
      message: 'fetch failed',
      cause: { ctor: 'Error', name: 'Error', code: 'ECONNRESET', message: 'read ECONNRESET' },
    });
    expect((rst as { cause: { syscall?: string; errno?: number } }).cause).toMatchObject({ syscall: 'read', errno: -104 });

    const fin = await caught(() => post());
    console.info('[partner] close (FIN)', JSON.stringify(shape(fin)));
    expect(shape(fin)).toMatchObject({
      ctor: 'TypeError',
      message: 'fetch failed',
      cause: { ctor: 'SocketError', name: 'SocketError', code: 'UND_ERR_SOCKET', message: 'other side closed' },
    });
    expect(sim.deliveries().map((d) => d.behaviour)).toEqual(['reset', 'reset']);
  });

  it('hang + AbortSignal.timeout: DOMException TimeoutError; AbortController.abort(): DOMException AbortError', async () => {
    sim.queue([respond.hang(), respond.hang()]);
    const started = performance.now();
    const timedOut = await caught(() => post({ signal: AbortSignal.timeout(250) }));
    expect(performance.now() - started).toBeLessThan(2_000);
    console.info('[partner] hang+AbortSignal.timeout', JSON.stringify(shape(timedOut)));
    expect(timedOut).toBeInstanceOf(DOMException);
    expect(timedOut).toBeInstanceOf(Error);
    expect(shape(timedOut)).toEqual({ ctor: 'DOMException', name: 'TimeoutError', message: 'The operation was aborted due to timeout', code: 23 });

    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const aborted = await caught(() => post({ signal: controller.signal }));
    expect(shape(aborted)).toEqual({ ctor: 'DOMException', name: 'AbortError', message: 'This operation was aborted', code: 20 });
    expect(sim.deliveries()).toHaveLength(2); // the body was received before hanging
  });

  it('slow: answers after the delay, or times the client out', async () => {
    sim.queue([respond.slow(150, respond.ok(202)), respond.slow(1_000)]);
    const t0 = performance.now();
    expect((await post()).status).toBe(202);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    const timedOut = await caught(() => post({ signal: AbortSignal.timeout(100) }));
    expect(shape(timedOut)).toMatchObject({ name: 'TimeoutError' });
  });

  it('held: answers only once the test releases it', async () => {
    let release!: () => void;
    sim.queue(respond.held(new Promise<void>((resolve) => (release = resolve)), respond.ok(201)));
    let settled = false;
    const pending = post().then((response) => {
      settled = true;
      return response;
    });
    await sim.waitForDeliveries(1);
    // a round trip the held request would have finished within, had it not been held
    sim.queue(respond.ok(202));
    expect((await post()).status).toBe(202);
    expect(settled).toBe(false);
    release();
    expect((await pending).status).toBe(201);
  });

  it("redirect: with redirect 'manual' fetch returns the 3xx itself (type 'basic', not 'opaqueredirect')", async () => {
    const target = `${sim.url}/moved`;
    sim.queue([respond.redirect(target, 302), respond.redirect(target, 307)]);
    const found = await post({ redirect: 'manual' });
    console.info('[partner] 302 manual', JSON.stringify({ status: found.status, type: found.type, redirected: found.redirected, location: found.headers.get('location') }));
    expect({ status: found.status, type: found.type, ok: found.ok, redirected: found.redirected, location: found.headers.get('location') }).toEqual({
      status: 302,
      type: 'basic',
      ok: false,
      redirected: false,
      location: target,
    });
    const temporary = await post({ redirect: 'manual' });
    expect([temporary.status, temporary.type, temporary.headers.get('location')]).toEqual([307, 'basic', target]);
    expect(sim.deliveries('/moved')).toHaveLength(0);
  });

  it("redirect: followed by default (302 turns the POST into a body-less GET, 307 re-POSTs); 'error' throws", async () => {
    const target = `${sim.url}/moved`;
    // queued for the hook path only: the global queue would also answer the redirected request
    sim.queue([respond.redirect(target, 302), respond.redirect(target, 307), respond.redirect(target, 302)], hook);
    const followed = await post();
    expect([followed.status, followed.redirected, followed.url]).toEqual([204, true, target]);
    expect(sim.deliveries('/moved')[0]).toMatchObject({ method: 'GET', body: '' });
    await post();
    expect(sim.deliveries('/moved')[1]).toMatchObject({ method: 'POST', body: '{"appointmentId":"a-1","version":3}', signatureValid: true });
    const refused = await caught(() => post({ redirect: 'error' }));
    expect(shape(refused)).toMatchObject({ ctor: 'TypeError', message: 'fetch failed', cause: { ctor: 'Error', message: 'unexpected redirect' } });
  });

  it('cockatiel timeout(Aggressive) around a hung fetch: TaskCancelledError (name "Error"); Cooperative: the AbortError', async () => {
    sim.queue([respond.hang(), respond.hang()]);
    const aggressive = await caught(() => timeout(200, TimeoutStrategy.Aggressive).execute(({ signal }) => post({ signal })));
    console.info('[partner] cockatiel aggressive timeout', JSON.stringify(shape(aggressive)));
    expect(aggressive).toBeInstanceOf(TaskCancelledError);
    expect(shape(aggressive)).toEqual({ ctor: 'TaskCancelledError', name: 'Error', message: 'Operation timed out after 200ms' });
    expect((aggressive as TaskCancelledError).isTaskCancelledError).toBe(true);

    const cooperative = await caught(() => timeout(200, TimeoutStrategy.Cooperative).execute(({ signal }) => post({ signal })));
    expect(cooperative).not.toBeInstanceOf(TaskCancelledError);
    expect(shape(cooperative)).toEqual({ ctor: 'DOMException', name: 'AbortError', message: 'This operation was aborted', code: 20 });
  });

  it('cockatiel circuit breaker open: BrokenCircuitError (name "Error"); isolated: IsolatedCircuitError', async () => {
    const breaker = circuitBreaker(handleAll, { halfOpenAfter: 60_000, breaker: new ConsecutiveBreaker(2) });
    sim.queue([respond.status(503), respond.status(503)]);
    const call = () =>
      breaker.execute(async () => {
        const res = await post();
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        return res.status;
      });
    await expect(call()).rejects.toThrow('HTTP 503');
    await expect(call()).rejects.toThrow('HTTP 503');
    const before = sim.deliveries().length;
    const open = await caught(call);
    console.info('[partner] cockatiel breaker open', JSON.stringify(shape(open)));
    expect(sim.deliveries()).toHaveLength(before); // short-circuited: the partner never saw it
    expect(open).toBeInstanceOf(BrokenCircuitError);
    expect(shape(open)).toEqual({ ctor: 'BrokenCircuitError', name: 'Error', message: 'Execution prevented because the circuit breaker is open' });
    expect((open as BrokenCircuitError).isBrokenCircuitError).toBe(true);

    const isolatedBreaker = circuitBreaker(handleAll, { halfOpenAfter: 60_000, breaker: new ConsecutiveBreaker(2) });
    const handle = isolatedBreaker.isolate();
    const isolated = await caught(() => isolatedBreaker.execute(() => post()));
    handle.dispose();
    expect(isolated).toBeInstanceOf(BrokenCircuitError);
    expect(isolated).toBeInstanceOf(IsolatedCircuitError);
    expect(shape(isolated)).toEqual({ ctor: 'IsolatedCircuitError', name: 'Error', message: 'Execution prevented because the circuit breaker is open' });
  });

  it('waitForDeliveries resolves on arrival and times out with a clear message', async () => {
    const waiting = sim.waitForDeliveries(2, { path: hook, timeoutMs: 2_000 });
    await post();
    await post();
    expect(await waiting).toHaveLength(2);
    await expect(sim.waitForDeliveries(3, { path: hook, timeoutMs: 50 })).rejects.toThrow('2/3 deliveries to /hooks/tenant-1 after 50 ms');
  });
});

describe('partner simulator lifecycle', () => {
  it('close() destroys hung sockets (client: fetch failed / UND_ERR_SOCKET), then connections are refused (ECONNREFUSED)', async () => {
    ensureTestCaTrusted();
    const sim = await startPartnerSimulator();
    sim.setDefault(respond.hang());
    const pending = caught(() => fetch(sim.url + '/hooks/x', { method: 'POST', body: '{}' }));
    await sim.waitForDeliveries(1);
    const t0 = performance.now();
    await sim.close();
    expect(performance.now() - t0).toBeLessThan(1_000);
    const hung = await pending;
    expect(shape(hung)).toMatchObject({ ctor: 'TypeError', message: 'fetch failed', cause: { ctor: 'SocketError', code: 'UND_ERR_SOCKET', message: 'other side closed' } });
    await sim.close(); // idempotent

    const refused = await caught(() => fetch(sim.url + '/hooks/x', { method: 'POST', body: '{}' }));
    console.info('[partner] refused', JSON.stringify(shape(refused)));
    expect(shape(refused)).toMatchObject({
      ctor: 'TypeError',
      name: 'TypeError',
      message: 'fetch failed',
      cause: { ctor: 'Error', name: 'Error', code: 'ECONNREFUSED', message: `connect ECONNREFUSED 127.0.0.1:${sim.port}` },
    });
    expect((refused as { cause: object }).cause).toMatchObject({ syscall: 'connect', errno: -111, address: '127.0.0.1', port: sim.port });
  });
});

describe('partner simulator enforcing signatures', () => {
  it('answers 401 to a delivery whose signature does not verify, and keeps the programmed answer for the next', async () => {
    ensureTestCaTrusted();
    const sim = await startPartnerSimulator({ signingSecret: SECRET, rejectInvalidSignatures: true });
    try {
      sim.queue(respond.ok(202));
      const body = '{"appointmentId":"a-1"}';
      const forged = await fetch(`${sim.url}/hooks/x`, { method: 'POST', body, headers: signedHeaders(body, `whsec_${Buffer.alloc(32, 1).toString('base64')}`) });
      expect([forged.status, await forged.json()]).toEqual([401, { error: 'invalid signature', problem: 'mismatch' }]);
      const genuine = await fetch(`${sim.url}/hooks/x`, { method: 'POST', body, headers: signedHeaders(body) });
      expect(genuine.status).toBe(202);
      expect(sim.deliveries().map((d) => d.signatureValid)).toEqual([false, true]);
    } finally {
      await sim.close();
    }
  });
});
