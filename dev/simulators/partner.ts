import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import { Socket, type AddressInfo } from 'node:net';
import { testTlsOptions, type TestTlsOptions } from './tls';

/**
 * A partner's webhook endpoint on https://127.0.0.1:<port> (test certificate, see ./tls).
 *
 * Accepts deliveries at any path (e.g. /hooks/<tenant>), verifies their Standard Webhooks signature
 * with its OWN verifier (deliberately independent of the product's signer in shared/webhook), records
 * every request, and answers as programmed: per path or globally, a queue of next responses and/or a
 * default. Resolution order per request: path queue ▸ global queue ▸ path default ▸ global default ▸
 * 204 No Content.
 */

// ───────────────────────────── Standard Webhooks (independent verifier) ─────────────────────────────

const SECRET_PREFIX = 'whsec_';

function secretBytes(secret: string): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  return Buffer.from(encoded, 'base64');
}

/**
 * `v1,<base64 HMAC-SHA256(secretBytes, "<id>.<timestamp>.<body>")>`, where secretBytes is the base64
 * decoding of the part after `whsec_`. The body is hashed as sent (raw bytes; a string is UTF-8).
 */
export function standardWebhookSignature(secret: string, id: string, timestamp: number | string, body: string | Buffer): string {
  const mac = createHmac('sha256', secretBytes(secret));
  mac.update(`${id}.${timestamp}.`, 'utf8');
  mac.update(typeof body === 'string' ? Buffer.from(body, 'utf8') : body);
  return `v1,${mac.digest('base64')}`;
}

export type SignatureProblem =
  | 'no-secret'
  | 'missing-headers'
  | 'bad-timestamp'
  | 'timestamp-out-of-tolerance'
  | 'no-v1-signature'
  | 'mismatch';

export interface SignatureCheck {
  valid: boolean;
  problem?: SignatureProblem;
}

export interface VerifyOptions {
  /** Seconds since the epoch to judge the timestamp against (default: now). */
  nowSeconds?: number;
  /** Allowed clock difference in seconds (Standard Webhooks recommends 5 minutes). `Infinity` disables the check. */
  toleranceSeconds?: number;
}

/**
 * Verifies Standard Webhooks headers: webhook-signature is a space-separated list of
 * `<version>,<base64>`; the delivery is valid when any `v1` entry matches (constant-time compare)
 * and webhook-timestamp is within the tolerance.
 */
export function verifyStandardWebhook(
  secret: string | undefined,
  headers: { id?: string; timestamp?: string; signature?: string },
  body: string | Buffer,
  options: VerifyOptions = {},
): SignatureCheck {
  if (!secret) return { valid: false, problem: 'no-secret' };
  const { id, timestamp, signature } = headers;
  if (!id || !timestamp || !signature) return { valid: false, problem: 'missing-headers' };
  if (!/^\d+$/.test(timestamp)) return { valid: false, problem: 'bad-timestamp' };
  const tolerance = options.toleranceSeconds ?? 300;
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - Number(timestamp)) > tolerance) return { valid: false, problem: 'timestamp-out-of-tolerance' };

  const expected = Buffer.from(standardWebhookSignature(secret, id, timestamp, body).slice('v1,'.length), 'base64');
  const candidates = signature
    .split(' ')
    .filter((entry) => entry.startsWith('v1,'))
    .map((entry) => Buffer.from(entry.slice('v1,'.length), 'base64'));
  if (candidates.length === 0) return { valid: false, problem: 'no-v1-signature' };
  const matches = candidates.some((candidate) => candidate.length === expected.length && timingSafeEqual(candidate, expected));
  return matches ? { valid: true } : { valid: false, problem: 'mismatch' };
}

// ───────────────────────────────────────────── behaviours ─────────────────────────────────────────────

export type PartnerBehaviour =
  /** Any status (2xx, 4xx, 5xx, 429 …) with an optional body (object → JSON) and headers. */
  | { kind: 'status'; status: number; body?: string | object; headers?: Record<string, string> }
  /** Never answers; the socket is destroyed by close(). */
  | { kind: 'hang' }
  /** Kills the connection without an answer: TCP RST by default (client sees ECONNRESET), `rst: false` = plain close (FIN). */
  | { kind: 'reset'; rst?: boolean }
  /** A redirect with a Location header. */
  | { kind: 'redirect'; status: 301 | 302 | 303 | 307 | 308; location: string }
  /** Waits delayMs, then behaves as `then` (default 200). */
  | { kind: 'slow'; delayMs: number; then?: PartnerBehaviour }
  /** Holds the request until `release` settles, then behaves as `then` (default 200): the test, not a clock, decides when it ends. */
  | { kind: 'held'; release: Promise<unknown>; then?: PartnerBehaviour };

export const partnerResponses = {
  ok: (status: 200 | 201 | 202 | 204 = 200, body?: string | object): PartnerBehaviour =>
    status === 204 ? { kind: 'status', status } : { kind: 'status', status, body: body ?? { received: true } },
  status: (status: number, body?: string | object, headers?: Record<string, string>): PartnerBehaviour => ({
    kind: 'status',
    status,
    ...(body !== undefined ? { body } : {}),
    ...(headers !== undefined ? { headers } : {}),
  }),
  /** 429 (or 503) with Retry-After: seconds or an HTTP date. */
  throttle: (retryAfter: number | string, status: 429 | 503 = 429): PartnerBehaviour => ({
    kind: 'status',
    status,
    body: { error: status === 429 ? 'Too Many Requests' : 'Service Unavailable' },
    headers: { 'Retry-After': String(retryAfter) },
  }),
  hang: (): PartnerBehaviour => ({ kind: 'hang' }),
  reset: (): PartnerBehaviour => ({ kind: 'reset' }),
  /** Closes the connection without RST (client sees "other side closed"). */
  close: (): PartnerBehaviour => ({ kind: 'reset', rst: false }),
  redirect: (location: string, status: 301 | 302 | 303 | 307 | 308 = 302): PartnerBehaviour => ({ kind: 'redirect', status, location }),
  slow: (delayMs: number, then?: PartnerBehaviour): PartnerBehaviour => ({ kind: 'slow', delayMs, ...(then ? { then } : {}) }),
  held: (release: Promise<unknown>, then?: PartnerBehaviour): PartnerBehaviour => ({ kind: 'held', release, ...(then ? { then } : {}) }),
} as const;

const DEFAULT_BEHAVIOUR: PartnerBehaviour = { kind: 'status', status: 204 };

// ───────────────────────────────────────────── simulator ─────────────────────────────────────────────

export interface PartnerDelivery {
  /** 1, 2, 3 … in arrival order */
  seq: number;
  method: string;
  /** path without the query string, e.g. /hooks/tenant-1 */
  path: string;
  /** request target as received, with the query string */
  url: string;
  headers: IncomingHttpHeaders;
  /** body as UTF-8 text (rawBody holds the bytes) */
  body: string;
  rawBody: Buffer;
  receivedAt: Date;
  /** Standard Webhooks check against the simulator's signing secret (false when none is set). */
  signatureValid: boolean;
  signatureProblem?: SignatureProblem;
  /** what the simulator did with it */
  behaviour: PartnerBehaviour['kind'];
}

export interface PartnerSimulatorOptions {
  /** whsec_… secret used to verify deliveries; without one signatureValid is false ('no-secret'). */
  signingSecret?: string;
  /** 0 (default) = a free port */
  port?: number;
  /** Timestamp tolerance for signature checks (default 300 s). */
  toleranceSeconds?: number;
  /** Answer 401 to any delivery whose signature does not verify, as a partner enforcing the contract would. */
  rejectInvalidSignatures?: boolean;
  /** Certificate and key to serve (default: the test certificate, see ./tls); ./partnerTls has one clients refuse. */
  tls?: TestTlsOptions;
}

export interface PartnerSimulator {
  readonly port: number;
  /** https://127.0.0.1:<port> (no trailing slash) */
  readonly url: string;
  /** Every request received so far, oldest first (optionally only those for one path). */
  deliveries(path?: string): PartnerDelivery[];
  /** Resolves once `count` deliveries (for `path`, if given) have arrived. */
  waitForDeliveries(count: number, options?: { path?: string; timeoutMs?: number }): Promise<PartnerDelivery[]>;
  /** Appends next responses, used once each, in order (for one path, or global). */
  queue(behaviours: PartnerBehaviour | PartnerBehaviour[], path?: string): void;
  /** The answer once the queues are empty (for one path, or global). `undefined` clears it. */
  setDefault(behaviour: PartnerBehaviour | undefined, path?: string): void;
  setSigningSecret(secret: string | undefined): void;
  /** Forgets deliveries, queues and defaults (not the signing secret). */
  reset(): void;
  /** TCP connections accepted so far, whether or not a request came over them (a client that refused the certificate sends none). */
  connections(): number;
  /** Stops listening and destroys every socket, hung ones included. Idempotent. */
  close(): Promise<void>;
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function killConnection(req: IncomingMessage, rst: boolean): void {
  const tlsSocket = req.socket as Socket & { _parent?: unknown };
  const raw = tlsSocket._parent instanceof Socket ? tlsSocket._parent : undefined;
  if (rst && raw && typeof raw.resetAndDestroy === 'function') {
    try {
      raw.resetAndDestroy();
      tlsSocket.destroy();
      return;
    } catch {
      // fall back to a plain destroy
    }
  }
  tlsSocket.destroy();
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function startPartnerSimulator(options: PartnerSimulatorOptions = {}): Promise<PartnerSimulator> {
  let signingSecret = options.signingSecret;
  const recorded: PartnerDelivery[] = [];
  const globalQueue: PartnerBehaviour[] = [];
  const pathQueues = new Map<string, PartnerBehaviour[]>();
  let globalDefault: PartnerBehaviour | undefined;
  const pathDefaults = new Map<string, PartnerBehaviour>();
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const waiters = new Set<() => void>();
  let closed = false;

  function next(path: string): PartnerBehaviour {
    return (
      pathQueues.get(path)?.shift() ?? globalQueue.shift() ?? pathDefaults.get(path) ?? globalDefault ?? DEFAULT_BEHAVIOUR
    );
  }

  function answer(behaviour: PartnerBehaviour, req: IncomingMessage, res: ServerResponse): void {
    if (closed || res.destroyed) return;
    switch (behaviour.kind) {
      case 'status': {
        const { status, body, headers = {} } = behaviour;
        const noBody = status === 204 || status === 304 || (status >= 100 && status < 200);
        const text = noBody || body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
        const contentType = body === undefined || typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8';
        res.writeHead(status, {
          ...(text ? { 'Content-Type': contentType, 'Content-Length': String(Buffer.byteLength(text)) } : noBody ? {} : { 'Content-Length': '0' }),
          ...headers,
        });
        res.end(text);
        return;
      }
      case 'redirect':
        res.writeHead(behaviour.status, { Location: behaviour.location, 'Content-Length': '0' });
        res.end();
        return;
      case 'hang':
        return; // close() destroys the socket
      case 'reset':
        killConnection(req, behaviour.rst ?? true);
        return;
      case 'slow': {
        const timer = setTimeout(() => {
          timers.delete(timer);
          answer(behaviour.then ?? { kind: 'status', status: 200, body: { received: true } }, req, res);
        }, behaviour.delayMs);
        timers.add(timer);
        return;
      }
      case 'held': {
        const go = () => answer(behaviour.then ?? { kind: 'status', status: 200, body: { received: true } }, req, res);
        void behaviour.release.then(go, go);
        return;
      }
    }
  }

  let connections = 0;
  const server: Server = createServer({ ...(options.tls ?? testTlsOptions()) }, (req, res) => {
    void (async () => {
      let rawBody: Buffer;
      try {
        rawBody = await readBody(req);
      } catch {
        return; // client went away mid-body
      }
      const url = req.url ?? '/';
      const path = url.split('?')[0] ?? '/';
      const check = verifyStandardWebhook(
        signingSecret,
        {
          id: headerValue(req.headers, 'webhook-id'),
          timestamp: headerValue(req.headers, 'webhook-timestamp'),
          signature: headerValue(req.headers, 'webhook-signature'),
        },
        rawBody,
        options.toleranceSeconds !== undefined ? { toleranceSeconds: options.toleranceSeconds } : {},
      );
      // An enforcing partner answers a bad signature itself; the programmed answers wait for the next delivery.
      const behaviour: PartnerBehaviour =
        options.rejectInvalidSignatures && !check.valid ? { kind: 'status', status: 401, body: { error: 'invalid signature', problem: check.problem } } : next(path);
      recorded.push({
        seq: recorded.length + 1,
        method: req.method ?? 'GET',
        path,
        url,
        headers: req.headers,
        body: rawBody.toString('utf8'),
        rawBody,
        receivedAt: new Date(),
        signatureValid: check.valid,
        ...(check.problem ? { signatureProblem: check.problem } : {}),
        behaviour: behaviour.kind,
      });
      for (const wake of [...waiters]) wake();
      answer(behaviour, req, res);
    })();
  });
  server.on('connection', (socket: Socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  // Clients that give up mid-handshake or send garbage must not crash the test process.
  server.on('tlsClientError', () => undefined);
  server.on('clientError', (_error, socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  const matching = (path?: string): PartnerDelivery[] =>
    path === undefined ? [...recorded] : recorded.filter((delivery) => delivery.path === path);

  let closing: Promise<void> | undefined;
  return {
    port,
    url: `https://127.0.0.1:${port}`,
    deliveries: matching,
    waitForDeliveries(count, { path, timeoutMs = 5_000 } = {}) {
      return new Promise<PartnerDelivery[]>((resolve, reject) => {
        const check = (): boolean => {
          const found = matching(path);
          if (found.length < count) return false;
          cleanup();
          resolve(found);
          return true;
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`partner simulator: ${matching(path).length}/${count} deliveries${path ? ` to ${path}` : ''} after ${timeoutMs} ms`));
        }, timeoutMs);
        const wake = (): void => void check();
        function cleanup(): void {
          clearTimeout(timer);
          waiters.delete(wake);
        }
        waiters.add(wake);
        check();
      });
    },
    queue(behaviours, path) {
      const list = Array.isArray(behaviours) ? behaviours : [behaviours];
      if (path === undefined) globalQueue.push(...list);
      else pathQueues.set(path, [...(pathQueues.get(path) ?? []), ...list]);
    },
    setDefault(behaviour, path) {
      if (path === undefined) globalDefault = behaviour;
      else if (behaviour === undefined) pathDefaults.delete(path);
      else pathDefaults.set(path, behaviour);
    },
    setSigningSecret(secret) {
      signingSecret = secret;
    },
    connections: () => connections,
    reset() {
      recorded.length = 0;
      globalQueue.length = 0;
      pathQueues.clear();
      globalDefault = undefined;
      pathDefaults.clear();
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        closed = true;
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      return closing;
    },
  };
}
