/**
 * The real @microsoft/microsoft-graph-client 3.0.7 against the Graph simulator.
 *
 * Measured error shapes: every failure is a `GraphError` (instanceof works; `err.name` is "Error",
 * not "GraphError") with {statusCode, code, message, requestId, body (JSON string of `error`),
 * headers (a fetch Headers; Retry-After via headers.get('retry-after'))}.
 * - HTTP errors: statusCode = HTTP status, code = body.error.code, message = body.error.message.
 * - Connection reset / refused: statusCode -1, code "TypeError", message "fetch failed", no cause
 *   (the underlying undici error had cause.code ECONNRESET / ECONNREFUSED — dropped by the client).
 * - Client-side timeout via `.option('signal', AbortSignal.timeout(ms))`: statusCode -1,
 *   code "TimeoutError", message "The operation was aborted due to timeout".
 * - A token failure inside the auth provider: statusCode -1, code "AuthenticationRequiredError",
 *   message = the identity message (AADSTS text survives), no cause.
 * - Without `customHosts` containing the simulator host, no Authorization header is sent (401
 *   "Access token is empty.").
 */
import { ClientSecretCredential } from '@azure/identity';
import { AuthenticationHandler, Client, GraphError, HTTPMessageHandler, type AuthenticationProvider } from '@microsoft/microsoft-graph-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEntraGraphSimulator, type EntraGraphSimulator } from './entraGraph';
import { ensureTestCaTrusted } from './tls';

ensureTestCaTrusted();

const TENANT = '5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d';
const CLIENT = 'c0ffee00-1234-4567-89ab-cdef01234567';
const SECRET = 'graph-test-secret';
const ALICE = 'alice@fabrikam.example';
const NOBOX = 'room-without-mailbox@fabrikam.example';
const LOCKED = 'ceo@fabrikam.example';

let sim: EntraGraphSimulator;
let client: Client;

function graphClient(authProvider: AuthenticationProvider, customHosts = true): Client {
  // No RetryHandler: the product owns its retry policy, and these tests must see each answer as sent.
  const auth = new AuthenticationHandler(authProvider);
  auth.setNext(new HTTPMessageHandler());
  return Client.initWithMiddleware({
    middleware: auth,
    baseUrl: sim.graphBaseUrl,
    defaultVersion: 'v1.0',
    ...(customHosts ? { customHosts: new Set([sim.graphHost]) } : {}),
  });
}

function credentialProvider(secret = SECRET): AuthenticationProvider {
  const credential = new ClientSecretCredential(TENANT, CLIENT, secret, {
    authorityHost: sim.url,
    disableInstanceDiscovery: true,
    retryOptions: { maxRetries: 0 },
  });
  return { getAccessToken: async () => (await credential.getToken('https://graph.microsoft.com/.default')).token };
}

async function graphError(promise: Promise<unknown>): Promise<GraphError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(GraphError);
    return err as GraphError;
  }
  throw new Error('expected a GraphError');
}

const events = (upn = ALICE) => `/users/${encodeURIComponent(upn)}/events`;
const event = (id: string, upn = ALICE) => `${events(upn)}/${encodeURIComponent(id)}`;
const appointment = (subject: string, transactionId?: string) => ({
  subject,
  start: { dateTime: '2031-03-04T09:00:00', timeZone: 'UTC' },
  end: { dateTime: '2031-03-04T09:30:00', timeZone: 'UTC' },
  ...(transactionId ? { transactionId } : {}),
});

beforeAll(async () => {
  sim = await startEntraGraphSimulator();
  sim.addApp({ tenantId: TENANT, clientId: CLIENT, clientSecret: SECRET });
  sim.addMailbox(ALICE, { tenantId: TENANT });
  sim.addMailbox(NOBOX, { tenantId: TENANT, mailboxEnabled: false });
  sim.addMailbox(LOCKED, { tenantId: TENANT, accessDenied: true });
  client = graphClient(credentialProvider());
});

afterAll(async () => {
  await sim?.close();
});

describe('Graph calendar events through the real Graph client', () => {
  it('creates, reads, patches and deletes an event', async () => {
    const created = (await client.api(events()).post(appointment('Dentist'))) as Record<string, unknown> & { id: string };
    expect(created.id).toMatch(/^AAMkAG[A-Za-z0-9_-]+=$/);
    expect(created).toMatchObject({ subject: 'Dentist', start: { dateTime: '2031-03-04T09:00:00', timeZone: 'UTC' }, isCancelled: false });
    expect(created['@odata.etag']).toMatch(/^W\/"/);

    const read = (await client.api(event(created.id)).get()) as { subject: string };
    expect(read.subject).toBe('Dentist');

    const patched = (await client.api(event(created.id)).patch({ subject: 'Dentist (moved)', id: 'ignored' })) as { id: string; subject: string; changeKey: string };
    expect(patched).toMatchObject({ id: created.id, subject: 'Dentist (moved)' });
    expect(patched.changeKey).not.toBe(created['changeKey']);
    expect(sim.events(ALICE).find((e) => e.id === created.id)?.['subject']).toBe('Dentist (moved)');

    await expect(client.api(event(created.id)).delete()).resolves.toBeUndefined();
    expect(sim.events(ALICE).some((e) => e.id === created.id)).toBe(false);
    expect(sim.requests({ mailbox: ALICE }).slice(-4).map((r) => `${r.method} ${r.status}`)).toEqual(['POST 201', 'GET 200', 'PATCH 200', 'DELETE 204']);

    const gone = await graphError(client.api(event(created.id)).get());
    expect({ statusCode: gone.statusCode, code: gone.code, message: gone.message }).toEqual({
      statusCode: 404,
      code: 'ErrorItemNotFound',
      message: 'The specified object was not found in the store.',
    });
  });

  it('dedupes creates by transactionId per mailbox', async () => {
    const before = sim.mailboxStats(ALICE);
    const first = (await client.api(events()).post(appointment('Once', 'tx-0001'))) as { id: string };
    const second = (await client.api(events()).post(appointment('Once again', 'tx-0001'))) as { id: string; subject: string };
    expect(second.id).toBe(first.id);
    expect(second.subject).toBe('Once');
    const after = sim.mailboxStats(ALICE);
    expect(after.createRequests - before.createRequests).toBe(2);
    expect(after.eventsCreated - before.eventsCreated).toBe(1);
    expect(after.dedupedCreates - before.dedupedCreates).toBe(1);
    expect(sim.events(ALICE).filter((e) => e['transactionId'] === 'tx-0001')).toHaveLength(1);
  });

  it('404 ErrorInvalidUser for an unknown user, and for a user of another tenant', async () => {
    const err = await graphError(client.api(events('nobody@fabrikam.example')).post(appointment('x')));
    expect(err.statusCode).toBe(404);
    expect(err.code).toBe('ErrorInvalidUser');
    expect(err.message).toBe("The requested user 'nobody@fabrikam.example' is invalid.");
    expect(JSON.parse(err.body as string)).toMatchObject({ code: 'ErrorInvalidUser', innerError: { 'request-id': err.requestId } });

    sim.addMailbox('elsewhere@contoso.example', { tenantId: '99999999-9999-4999-8999-999999999999' });
    const other = await graphError(client.api(events('elsewhere@contoso.example')).get());
    expect([other.statusCode, other.code]).toEqual([404, 'ErrorInvalidUser']);
  });

  it('404 MailboxNotEnabledForRESTAPI and 403 ErrorAccessDenied (mailbox policy and missing app permission)', async () => {
    const nobox = await graphError(client.api(events(NOBOX)).post(appointment('x')));
    expect([nobox.statusCode, nobox.code, nobox.message]).toEqual([404, 'MailboxNotEnabledForRESTAPI', 'The mailbox is either inactive, soft-deleted, or is hosted on-premise.']);

    const locked = await graphError(client.api(events(LOCKED)).post(appointment('x')));
    expect([locked.statusCode, locked.code, locked.message]).toEqual([403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.']);

    sim.updateApp(TENANT, CLIENT, { graphPermission: false });
    try {
      const denied = await graphError(client.api(events()).post(appointment('x')));
      expect([denied.statusCode, denied.code]).toEqual([403, 'ErrorAccessDenied']);
    } finally {
      sim.updateApp(TENANT, CLIENT, { graphPermission: true });
    }

    sim.addTenant({ tenantId: TENANT, graphPermission: false });
    try {
      const tenantDenied = await graphError(client.api(events()).get());
      expect([tenantDenied.statusCode, tenantDenied.code]).toEqual([403, 'ErrorAccessDenied']);
    } finally {
      sim.addTenant({ tenantId: TENANT, graphPermission: true });
    }
    await expect(client.api(events()).get()).resolves.toBeTruthy();
  });

  it('401 InvalidAuthenticationToken: no customHosts (no header), revoked, expired, injected', async () => {
    const noHost = await graphError(graphClient(credentialProvider(), false).api(events()).get());
    expect([noHost.statusCode, noHost.code, noHost.message]).toEqual([401, 'InvalidAuthenticationToken', 'Access token is empty.']);
    expect(noHost.headers?.get('www-authenticate')).toContain('Bearer');

    // A second app, so that revoking its tokens leaves the shared client's cached token alone.
    const revokedApp = '0d15ea5e-0000-4000-8000-00000000beef';
    sim.addApp({ tenantId: TENANT, clientId: revokedApp, clientSecret: 'r' });
    const minted = sim.issueToken(TENANT, revokedApp);
    const staticClient = graphClient({ getAccessToken: async () => minted.accessToken });
    await expect(staticClient.api(events()).get()).resolves.toBeTruthy();
    sim.revokeTokens({ clientId: revokedApp });
    const revoked = await graphError(staticClient.api(events()).get());
    expect([revoked.statusCode, revoked.code]).toEqual([401, 'InvalidAuthenticationToken']);

    const shortLived = await startEntraGraphSimulator({ tokenLifetimeSeconds: 0 });
    try {
      shortLived.addMailbox(ALICE);
      const token = shortLived.issueToken(TENANT, CLIENT).accessToken;
      const res = await fetch(`${shortLived.url}/v1.0/users/${ALICE}/events`, { headers: { Authorization: `Bearer ${token}` } });
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: { message: string } }).error.message).toBe('Lifetime validation failed, the token is expired.');
    } finally {
      await shortLived.close();
    }

    sim.injectGraphFault({ kind: 'unauthorized' }, { mailbox: ALICE });
    const injected = await graphError(client.api(events()).get());
    expect([injected.statusCode, injected.code]).toEqual([401, 'InvalidAuthenticationToken']);
  });

  it('429 ApplicationThrottled carries Retry-After; 503 and 504 carry Graph error JSON', async () => {
    sim.injectGraphFault({ kind: 'throttle', retryAfterSeconds: 7 }, { mailbox: ALICE });
    const throttled = await graphError(client.api(events()).post(appointment('x')));
    expect([throttled.statusCode, throttled.code, throttled.message]).toEqual([429, 'ApplicationThrottled', 'Application is over its MailboxConcurrency limit.']);
    expect(throttled.headers?.get('retry-after')).toBe('7');

    sim.injectGraphFault({ kind: 'unavailable', retryAfterSeconds: 2 }, { mailbox: ALICE });
    const unavailable = await graphError(client.api(events()).post(appointment('x')));
    expect([unavailable.statusCode, unavailable.code, unavailable.message]).toEqual([503, 'UnknownError', '']);
    expect(unavailable.headers?.get('retry-after')).toBe('2');

    sim.injectGraphFault({ kind: 'gatewayTimeout' }, { mailbox: ALICE });
    const gateway = await graphError(client.api(events()).post(appointment('x')));
    expect([gateway.statusCode, gateway.code]).toEqual([504, 'UnknownError']);

    sim.injectGraphFault({ kind: 'error', status: 503, code: 'ErrorInternalServerTransientError', message: 'transient' }, { mailbox: ALICE });
    const custom = await graphError(client.api(events()).post(appointment('x')));
    expect([custom.statusCode, custom.code, custom.message]).toEqual([503, 'ErrorInternalServerTransientError', 'transient']);
  });

  it('connection reset → statusCode -1, code TypeError, "fetch failed", no cause', async () => {
    sim.injectGraphFault({ kind: 'reset' }, { mailbox: ALICE });
    const err = await graphError(client.api(events()).post(appointment('x')));
    expect({ statusCode: err.statusCode, code: err.code, message: err.message }).toEqual({ statusCode: -1, code: 'TypeError', message: 'fetch failed' });
    expect((err as Error & { cause?: unknown }).cause).toBeUndefined();
    expect(sim.requests({ mailbox: ALICE }).at(-1)).toMatchObject({ outcome: 'reset', fault: 'reset' });
  });

  it('hang → the client times out with statusCode -1 / TimeoutError; the simulator records the abandonment', async () => {
    sim.injectGraphFault({ kind: 'hang' }, { mailbox: ALICE });
    const started = Date.now();
    const err = await graphError(client.api(events()).option('signal', AbortSignal.timeout(250)).post(appointment('x')));
    expect(Date.now() - started).toBeLessThan(2000);
    expect({ statusCode: err.statusCode, code: err.code, message: err.message }).toEqual({
      statusCode: -1,
      code: 'TimeoutError',
      message: 'The operation was aborted due to timeout',
    });
    await expect.poll(() => sim.requests({ mailbox: ALICE }).at(-1)?.finishedAt).toBeDefined();
    const hung = sim.requests({ mailbox: ALICE }).at(-1);
    expect(hung).toMatchObject({ outcome: 'hang', fault: 'hang' });
    expect(hung?.status).toBeUndefined();
    expect(sim.mailboxStats(ALICE).inFlight).toBe(0);
  });

  it('a token failure inside the auth provider → statusCode -1, code AuthenticationRequiredError', async () => {
    const err = await graphError(graphClient(credentialProvider('wrong')).api(events()).get());
    expect(err.statusCode).toBe(-1);
    expect(err.code).toBe('AuthenticationRequiredError');
    expect(err.message).toContain('AADSTS7000215');
    expect((err as Error & { cause?: unknown }).cause).toBeUndefined();
  });

  it('server gone → statusCode -1 / TypeError (ECONNREFUSED is not visible)', async () => {
    const gone = await startEntraGraphSimulator();
    const token = gone.issueToken(TENANT, CLIENT).accessToken;
    const auth = new AuthenticationHandler({ getAccessToken: async () => token });
    auth.setNext(new HTTPMessageHandler());
    const goneClient = Client.initWithMiddleware({ middleware: auth, baseUrl: gone.graphBaseUrl, customHosts: new Set([gone.graphHost]) });
    await gone.close();
    const err = await graphError(goneClient.api(events()).get());
    expect([err.statusCode, err.code, err.message]).toEqual([-1, 'TypeError', 'fetch failed']);
  });

  it('malformed JSON → 400 BadRequest; /me with an app token → 400', async () => {
    const token = sim.issueToken(TENANT, CLIENT).accessToken;
    const res = await fetch(`${sim.url}/v1.0/users/${ALICE}/events`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: '{"subject":',
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('BadRequest');
    const me = await graphError(client.api('/me/events').get());
    expect([me.statusCode, me.message]).toEqual([400, '/me request is only valid with delegated authentication flow.']);
  });
});
