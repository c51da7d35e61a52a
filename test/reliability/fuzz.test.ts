import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CATALOGUE } from '../../shared/diagnostics/catalogue';
import { diagnose } from '../../shared/diagnostics/classifier';
import { SchemaMismatchError } from '../../shared/diagnostics/domainErrors';
import { MAX_MESSAGE_CHARS } from '../../shared/diagnostics/format';
import type { DiagnosisContext } from '../../shared/diagnostics/types';
import { parseAppointmentMessage } from '../../shared/messages/appointmentMessage';

/**
 * Property-based fuzzing of the two functions every message and every failure goes through.
 * 10,000 runs per property by default, 100,000 with RELIABILITY_LARGE=1; a failure prints fast-check's
 * seed and path (replay with RELIABILITY_FUZZ_SEED=<seed>).
 */
const LARGE = process.env.RELIABILITY_LARGE === '1';
const RUNS = LARGE ? 100_000 : 10_000;
const SEED = process.env.RELIABILITY_FUZZ_SEED === undefined ? Date.now() % 2 ** 31 : Number(process.env.RELIABILITY_FUZZ_SEED);
const params = { numRuns: RUNS, seed: SEED };
const TIMEOUT = LARGE ? 1_800_000 : 240_000;
console.log(`[reliability] fuzz seed=${SEED} runs=${RUNS} per property`);

const BY_CODE = new Map(CATALOGUE.map((e) => [e.code, e]));

/** The outcome is a catalogued code with the catalogue's Status and retry class, bounded and on one line. */
function expectCatalogued(d: ReturnType<typeof diagnose>): void {
  const entry = BY_CODE.get(d.code);
  expect(entry, d.code).toBeDefined();
  expect(d.status).toBe(entry!.status);
  expect(d.retry).toBe(entry!.retry);
  expect(d.message.startsWith(`[${d.code}] `)).toBe(true);
  expect(d.message.length).toBeLessThanOrEqual(MAX_MESSAGE_CHARS);
  expect(d.message).not.toMatch(/[\r\n]/);
  if (d.stack !== undefined) expect(d.stack.length).toBeLessThanOrEqual(16_000);
  if (d.retryAfterSeconds !== undefined) expect(Number.isFinite(d.retryAfterSeconds)).toBe(true);
  expect(() => JSON.stringify(d)).not.toThrow();
}

// ───────────────────────────── appointment messages ─────────────────────────────

const idArb = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,39}$/);
const dateArb = fc
  .record({ y: fc.integer({ min: 2000, max: 2099 }), mo: fc.integer({ min: 1, max: 12 }), d: fc.integer({ min: 1, max: 28 }), h: fc.integer({ min: 0, max: 22 }), mi: fc.integer({ min: 0, max: 59 }) })
  .map(({ y, mo, d, h, mi }) => ({ start: `${y}-${String(mo).padStart(2, '0')}-${String(d).padStart(2, '0')}T${String(h).padStart(2, '0')}:${String(mi).padStart(2, '0')}:00`, endHour: h + 1 }))
  .map(({ start, endHour }) => ({ start, end: `${start.slice(0, 11)}${String(endHour).padStart(2, '0')}${start.slice(13)}` }));
const emailArb = fc.tuple(fc.stringMatching(/^[a-z][a-z0-9.]{0,15}[a-z0-9]$/), fc.constantFrom('contoso.com', 'fabrikam.onmicrosoft.com')).filter(([u]) => !u.includes('..')).map(([u, d]) => `${u}@${d}`);
const resourceArb = fc.oneof(
  fc.record({ number: idArb, name: idArb, email: emailArb, exchangeEnabled: fc.boolean() }),
  fc.record({ number: idArb, name: idArb, exchangeEnabled: fc.constant(false) }),
);
const validMessageArb = fc.record({
  schemaVersion: fc.constant(1),
  action: fc.constantFrom('create', 'update', 'delete'),
  tenantId: idArb,
  connectorId: idArb,
  appointmentId: idArb,
  appointmentVersion: fc.nat(),
  connectorType: fc.constantFrom('Exchange', 'Webhook', undefined),
  subject: fc.string({ maxLength: 255 }),
  body: fc.string({ maxLength: 500 }),
  location: fc.string({ maxLength: 255 }),
  times: dateArb,
  timeZone: fc.constantFrom('Europe/Brussels', 'UTC', 'W. Europe Standard Time'),
  resources: fc.array(resourceArb, { maxLength: 5 }),
}).map(({ times, timeZone, connectorType, ...m }) => {
  const base = { ...m, ...(connectorType ? { connectorType } : {}) };
  if (m.action === 'delete') {
    const { subject: _s, body: _b, location: _l, ...rest } = base;
    return rest as Record<string, unknown>;
  }
  return { ...base, start: { dateTime: times.start, timeZone }, end: { dateTime: times.end, timeZone } } as Record<string, unknown>;
});

const FIELDS = ['schemaVersion', 'action', 'tenantId', 'connectorId', 'appointmentId', 'appointmentVersion', 'connectorType', 'subject', 'body', 'location', 'start', 'end', 'resources'] as const;
/** A value that is wrong for most fields: the wrong type, blank, far too long, or nonsense. */
const badValueArb = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.constant(''),
  fc.constant('   '),
  fc.constant('x'.repeat(40_000)),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.string(),
  fc.array(fc.anything(), { maxLength: 3 }),
  fc.object({ maxDepth: 2 }),
  fc.constant({ dateTime: 'tomorrow at nine', timeZone: 'UTC' }),
  fc.constant([{ number: 'R1', name: 'Jane', exchangeEnabled: true }]),
);

function reasonOf(body: unknown): { ok: true } | { ok: false; error: unknown } {
  try {
    parseAppointmentMessage(body);
    return { ok: true };
  } catch (error) {
    return { ok: false, error };
  }
}

function expectClearRejection(error: unknown): string {
  expect(error).toBeInstanceOf(SchemaMismatchError);
  const reason = (error as SchemaMismatchError).reason;
  expect(reason.trim().length).toBeGreaterThan(0);
  const d = diagnose(error);
  expect(d.code).toBe('DSCFG004');
  expectCatalogued(d);
  return reason;
}

describe(`fuzz: message parsing (${RUNS} runs per property)`, () => {
  it('accepts every well-formed message, whatever form it arrives in (object, JSON text, bytes)', () => {
    fc.assert(
      fc.property(validMessageArb, fc.constantFrom('object', 'text', 'buffer'), (message, form) => {
        const body = form === 'object' ? message : form === 'text' ? JSON.stringify(message) : Buffer.from(JSON.stringify(message));
        const parsed = parseAppointmentMessage(body);
        expect(parsed.appointmentId).toBe((message.appointmentId as string).trim());
        expect(parsed.action).toBe(message.action);
      }),
      params,
    );
  }, TIMEOUT);

  it('rejects a message with one broken field with a reason naming that field, and never crashes', () => {
    let rejected = 0;
    fc.assert(
      fc.property(validMessageArb, fc.constantFrom(...FIELDS), badValueArb, (message, field, value) => {
        const broken = { ...message, [field]: value };
        if (value === undefined) delete broken[field];
        const result = reasonOf(broken);
        if (result.ok) return; // e.g. an optional field dropped, or a string that is a fine subject
        rejected += 1;
        const reason = expectClearRejection(result.error);
        const shown = (() => {
          try {
            return String(value).slice(0, 80);
          } catch {
            return typeof value;
          }
        })();
        expect(reason, JSON.stringify({ field, value: shown })).toContain(field);
      }),
      params,
    );
    expect(rejected).toBeGreaterThan(RUNS / 4);
  }, TIMEOUT);

  it('turns anything else that arrives (any JSON, any text, any bytes, any value) into a message or a clear DSCFG004', () => {
    const anyBody = fc.oneof(
      fc.anything({ withBigInt: true, withDate: true, withMap: true, withSet: true, withTypedArray: true, withNullPrototype: true, withSparseArray: true }),
      fc.json(),
      fc.string(),
      fc.string({ unit: 'binary' }),
      fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
      validMessageArb.map((m) => JSON.stringify(m).slice(0, -1)),
    );
    fc.assert(
      fc.property(anyBody, (body) => {
        const result = reasonOf(body);
        if (!result.ok) expectClearRejection(result.error);
      }),
      params,
    );
  }, TIMEOUT);
});

// ───────────────────────────── the classifier ─────────────────────────────

const STATUS_LIKE = fc.oneof(
  fc.integer({ min: -1, max: 600 }),
  fc.constantFrom(0, -1, 401, 403, 404, 408, 409, 412, 429, 500, 503, 504, Number.NaN, Number.POSITIVE_INFINITY, 1e21),
  fc.integer({ min: 100, max: 599 }).map(String),
  fc.string({ maxLength: 6 }),
  fc.constant({ valueOf: () => 503 }),
  fc.constant([429]),
  fc.boolean(),
  fc.constant(null),
);
const CODE_LIKE = fc.oneof(
  fc.constantFrom('ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'UND_ERR_SOCKET', 'TypeError', 'ErrorAccessDenied', 'ErrorInvalidUser', 'ErrorItemNotFound', 'MailboxNotEnabledForRESTAPI', 'ApplicationThrottled', 'invalid_client', 'network_error', 'OperationTimedOut', 'UpdateConditionNotSatisfied', 'TableNotFound'),
  fc.string({ maxLength: 30 }),
  fc.integer(),
);
const NAME_LIKE = fc.oneof(
  fc.constantFrom('Error', 'GraphError', 'RestError', 'AuthenticationRequiredError', 'CredentialUnavailableError', 'TimeoutError', 'AbortError', 'TaskCancelledError', 'BrokenCircuitError', 'ServerError', 'ClientAuthError', 'TypeError', 'FetchError'),
  fc.string({ maxLength: 20 }),
  fc.integer(),
);
const MESSAGE_LIKE = fc.oneof(
  { weight: 6, arbitrary: fc.string({ maxLength: 200 }) },
  { weight: 2, arbitrary: fc.constantFrom('invalid_client: Error(s): 7000222 - Timestamp: 2026-01-01 - Description: AADSTS7000222: expired', 'AADSTS700016: app not found', 'AADSTS90002: Tenant not found', 'fetch failed', 'socket hang up', 'The operation was aborted due to timeout') },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 300 }) },
  { weight: 1, arbitrary: fc.integer({ min: 20_000, max: 200_000 }).map((n) => `${'AADSTS7000215 '.repeat(2)}${'x\n\u0000\u202e'.repeat(n / 4)}`) },
  { weight: 1, arbitrary: fc.integer() },
);
const HEADERS_LIKE = fc.oneof(
  fc.record({ 'retry-after': fc.oneof(fc.nat().map(String), fc.string({ maxLength: 30 }), fc.date({ noInvalidDate: true }).map((d) => d.toUTCString()), fc.constant('99999999999999999999999')) }, { requiredKeys: [] }),
  fc.constant({ get: (name: string) => (name === 'retry-after' ? '2' : undefined) }),
  fc.constant({
    get() {
      throw new Error('headers exploded');
    },
  }),
  fc.anything({ maxDepth: 1 }),
);

/** Plain error-shaped records, with causes nested a few levels down. */
const { errorLike } = fc.letrec<{ errorLike: unknown }>((tie) => ({
  errorLike: fc.record(
    {
      name: NAME_LIKE,
      message: MESSAGE_LIKE,
      statusCode: STATUS_LIKE,
      status: STATUS_LIKE,
      code: CODE_LIKE,
      errno: CODE_LIKE,
      errorNo: fc.oneof(fc.integer(), fc.string({ maxLength: 8 })),
      error_codes: fc.array(fc.oneof(fc.integer(), fc.string({ maxLength: 8 })), { maxLength: 3 }),
      details: fc.record({ errorCode: CODE_LIKE }, { requiredKeys: [] }),
      headers: HEADERS_LIKE,
      response: fc.record({ headers: HEADERS_LIKE }, { requiredKeys: [] }),
      retryAfterSeconds: fc.oneof(fc.integer({ min: -10, max: 100_000 }), fc.double(), fc.string({ maxLength: 5 })),
      stack: fc.oneof(fc.string({ maxLength: 100 }), fc.constant('x'.repeat(50_000)), fc.integer()),
      body: fc.anything({ maxDepth: 2 }),
      cause: fc.oneof({ depthSize: 'small', withCrossShrink: true }, fc.constant(undefined), tie('errorLike')),
      errors: fc.array(tie('errorLike'), { maxLength: 2, depthIdentifier: 'errors' }),
    },
    { requiredKeys: [] },
  ),
}));

/** Real Error instances (and subclasses) carrying those properties. */
const realErrorArb = fc.tuple(fc.constantFrom(Error, TypeError, RangeError, AggregateError, SchemaMismatchError), errorLike).map(([Ctor, props]) => {
  const error = Ctor === AggregateError ? new AggregateError([], 'aggregate') : Ctor === SchemaMismatchError ? new SchemaMismatchError(String((props as { message?: unknown }).message)) : new Ctor('real');
  for (const [k, v] of Object.entries(props as object)) {
    try {
      (error as unknown as Record<string, unknown>)[k] = v;
    } catch {
      // read-only on this class: keep the original
    }
  }
  return error;
});

/**
 * Shapes a record cannot express: cycles, throwing getters, revoked proxies, exotic primitives. Built
 * inside the property (as thunks) because fast-check itself cannot inspect a trapping proxy.
 */
type Thunk = () => unknown;
const hostileArb: fc.Arbitrary<Thunk> = fc.oneof(
  errorLike.map((e): Thunk => () => {
    const copy = typeof e === 'object' && e !== null ? { ...(e as object) } : e;
    if (typeof copy === 'object' && copy !== null) (copy as Record<string, unknown>).cause = copy; // cause is itself
    return copy;
  }),
  fc.tuple(errorLike, errorLike).map(([a, b]): Thunk => () => {
    const x = Object.assign(new Error('a'), a as object);
    const y = Object.assign(new Error('b'), b as object, { cause: x });
    x.cause = y; // a ↔ b
    (x as unknown as { errors: unknown[] }).errors = [y, x];
    return x;
  }),
  fc.constantFrom('message', 'name', 'statusCode', 'cause', 'headers', 'code', 'stack', 'constructor').map((prop): Thunk => () => {
    const e = new Error('getter');
    Object.defineProperty(e, prop, {
      get() {
        throw new Error(`${prop} exploded`);
      },
    });
    return e;
  }),
  fc.constant((): unknown => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    return proxy;
  }),
  fc.constant((): unknown => {
    const trap = () => {
      throw new Error('trap');
    };
    return new Proxy({}, { get: trap, has: trap, ownKeys: trap, getPrototypeOf: trap, getOwnPropertyDescriptor: trap });
  }),
  fc.constant((): unknown => Object.create(null)),
  fc.constant((): unknown => Object.assign(Object.create(null), { message: 'no prototype', statusCode: 503 })),
  fc.oneof(fc.string(), fc.integer(), fc.double(), fc.bigInt(), fc.boolean(), fc.constant(undefined), fc.constant(null), fc.constant(Symbol('thrown')), fc.constant(() => 'a function'), fc.date()).map((v): Thunk => () => v),
  fc.anything({ withBigInt: true, withMap: true, withSet: true, withNullPrototype: true, maxDepth: 3 }).map((v): Thunk => () => v),
);

const ctxArb = fc.record(
  {
    connector: fc.constantFrom('exchange', 'webhook', undefined),
    stage: fc.constantFrom('config', 'deliver', 'record', undefined),
    operation: fc.constantFrom('create', 'update', 'delete', undefined),
    tenantId: fc.string({ maxLength: 40 }),
    clientId: fc.string({ maxLength: 40 }),
    resource: fc.record({ number: fc.string({ maxLength: 10 }), name: fc.string({ maxLength: 30 }), email: fc.emailAddress() }, { requiredKeys: ['number', 'name'] }),
    timeoutMs: fc.oneof(fc.nat(), fc.double()),
  },
  { requiredKeys: [] },
) as fc.Arbitrary<DiagnosisContext>;

describe(`fuzz: the classifier (${RUNS} runs per property)`, () => {
  it('diagnoses any thrown value, however malformed, cyclic or hostile, into a catalogued code and never throws', () => {
    const seen = new Map<string, number>();
    fc.assert(
      fc.property(fc.oneof(errorLike.map((e): Thunk => () => e), realErrorArb.map((e): Thunk => () => e), hostileArb), ctxArb, (make, ctx) => {
        const d = diagnose(make(), ctx);
        expectCatalogued(d);
        seen.set(d.code, (seen.get(d.code) ?? 0) + 1);
      }),
      params,
    );
    console.log(`[reliability] classifier codes over ${RUNS} inputs: ${JSON.stringify(Object.fromEntries([...seen].sort()))}`);
    expect(seen.size).toBeGreaterThan(8); // the generator reaches many rules, not just DSUNK001
  }, TIMEOUT);

  it('never lets a secret it was told about through, in the message or the stack', () => {
    const secretArb = fc.stringMatching(/^[A-Za-z0-9~._-]{12,40}$/).filter((s) => !/^(.)\1+$/.test(s));
    fc.assert(
      fc.property(errorLike, secretArb, fc.constantFrom('message', 'stack', 'cause', 'body'), ctxArb, (props, secret, where, ctx) => {
        const error = Object.assign(new Error('x'), props as object);
        const text = `client_id=abc&secret ${secret} tail`;
        if (where === 'message') error.message = text;
        else if (where === 'stack') error.stack = `Error: ${text}\n    at somewhere`;
        else if (where === 'cause') error.cause = new Error(text);
        else (error as unknown as { body: unknown }).body = { error: { message: text } };
        const d = diagnose(error, { ...ctx, secrets: [secret] });
        expectCatalogued(d);
        expect(d.message).not.toContain(secret);
        expect(d.text).not.toContain(secret);
        if (d.stack) expect(d.stack).not.toContain(secret);
      }),
      params,
    );
  }, TIMEOUT);
});
