/**
 * The real @azure/identity 4.13.1 (MSAL node 5.6) against the Entra simulator.
 *
 * Measured error shapes (what the classifier can rely on):
 * - Every Entra rejection from the token endpoint: `AuthenticationRequiredError` (name and constructor),
 *   NO `cause`, own keys [scopes, getTokenOptions, name]. The AADSTS code lives only in the message:
 *   `<error>: Error(s): <code> - Timestamp: <ts> - Description: AADSTS<code>: <text>\r\nTrace ID: …\r\n
 *   Correlation ID: …\r\nTimestamp: … - Correlation ID: … - Trace ID: …`
 *   (error = invalid_client for 7000215/7000222, unauthorized_client for 700016/7000112,
 *   invalid_tenant|invalid_request for 90002, invalid_request for 900023).
 * - Token endpoint 5xx: identity's pipeline retries it 3 times (exponential, ~6 s with defaults), then
 *   `AuthenticationRequiredError` "temporarily_unavailable: Error(s):  - …" (whatever `error` the body has).
 *   MSAL then caches a throttle for that credential: the next getToken fails WITHOUT a request, with
 *   the message ": <error_description>" (empty code), and Retry-After does not shorten it (identity
 *   lower-cases headers, MSAL reads "Retry-After" → default 60 s).
 * - Connection reset / per-try timeout at the token endpoint: `AuthenticationRequiredError`
 *   "network_error: See https://aka.ms/msal.js.errors#network_error for details", no cause.
 * - Discovery failure (server down on first call, or 400 from openid-configuration):
 *   `CredentialUnavailableError` "endpoints_resolution_error: See https://aka.ms/msal.js.errors#endpoints_resolution_error for details".
 * - getToken ignores `abortSignal` while a request hangs; only a perRetry policy setting
 *   `request.timeout` bounds it.
 * - Constructor: empty tenant/clientId/secret → `CredentialUnavailableError` "ClientSecretCredential:
 *   <param> is a required parameter. …"; tenant "bad tenant!" → plain `Error` "Invalid tenant id
 *   provided. …"; http authorityHost → plain `Error` "The authorityHost address must use the 'https' protocol."
 */
import { ClientSecretCredential, type ClientSecretCredentialOptions } from '@azure/identity';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEntraGraphSimulator, type EntraGraphSimulator } from './entraGraph';
import { ensureTestCaTrusted } from './tls';

ensureTestCaTrusted();

const TENANT = '3f2b9a4e-1c7d-4e8f-9a0b-1c2d3e4f5a6b';
const CLIENT = '9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a';
const SECRET = 'S1m~ulat0r.secret';
const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';

let sim: EntraGraphSimulator;

function credential(
  overrides: { tenantId?: string; clientId?: string; secret?: string } = {},
  options: ClientSecretCredentialOptions = {},
): ClientSecretCredential {
  return new ClientSecretCredential(overrides.tenantId ?? TENANT, overrides.clientId ?? CLIENT, overrides.secret ?? SECRET, {
    authorityHost: sim.url,
    disableInstanceDiscovery: true,
    // Keep rejections to one request each; retry behaviour has its own test.
    retryOptions: { maxRetries: 0 },
    ...options,
  });
}

async function rejection(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (err) {
    return err as Error & Record<string, unknown>;
  }
  throw new Error('expected a rejection');
}

function expectEntraRejection(err: Error & Record<string, unknown>, error: string, code: number): void {
  expect(err.name).toBe('AuthenticationRequiredError');
  expect(err.constructor.name).toBe('AuthenticationRequiredError');
  expect(err.message.startsWith(`${error}: Error(s): ${code} - Timestamp: `)).toBe(true);
  expect(err.message).toContain(`Description: AADSTS${code}: `);
  expect(err.message).toMatch(/Correlation ID: [0-9a-f-]{36}/);
  expect(err.message).toMatch(/Trace ID: [0-9a-f-]{36}/);
  // 4.13.1 does not attach MSAL's ServerError: the message is the only carrier of the code.
  expect(err.cause).toBeUndefined();
}

beforeAll(async () => {
  sim = await startEntraGraphSimulator();
  sim.addApp({ tenantId: TENANT, clientId: CLIENT, clientSecret: SECRET });
  sim.addTenant({ tenantId: TENANT, domains: ['contoso.onmicrosoft.com'] });
  sim.addMailbox('alice@contoso.onmicrosoft.com', { tenantId: TENANT });
});

afterAll(async () => {
  await sim?.close();
});

describe('ClientSecretCredential against the Entra simulator', () => {
  it('gets a token that Graph accepts, discovers metadata first, and caches the token', async () => {
    sim.resetStats();
    const cred = credential();
    const token = await cred.getToken(GRAPH_SCOPE);
    expect(token.token.split('.')).toHaveLength(3);
    expect(token.expiresOnTimestamp - Date.now()).toBeGreaterThan(3500_000);
    expect(token.tokenType).toBe('Bearer');
    expect(sim.requests({ service: 'entra' }).map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      `GET /${TENANT}/v2.0/.well-known/openid-configuration 200`,
      `POST /${TENANT}/oauth2/v2.0/token 200`,
    ]);
    await cred.getToken(GRAPH_SCOPE);
    expect(sim.tokenRequests(CLIENT)).toBe(1);
    expect(sim.tokensIssued(CLIENT)).toBe(1);

    const res = await fetch(`${sim.url}/v1.0/users/alice@contoso.onmicrosoft.com/events`, {
      headers: { Authorization: `Bearer ${token.token}` },
    });
    expect(res.status).toBe(200);
  });

  it('accepts a verified domain as the tenant', async () => {
    await expect(credential({ tenantId: 'contoso.onmicrosoft.com' }).getToken(GRAPH_SCOPE)).resolves.toMatchObject({ tokenType: 'Bearer' });
  });

  it('wrong secret → AADSTS7000215 invalid_client (HTTP 401)', async () => {
    const err = await rejection(credential({ secret: 'not-the-secret' }).getToken(GRAPH_SCOPE));
    expectEntraRejection(err, 'invalid_client', 7000215);
    expect(sim.requests({ service: 'entra' }).at(-1)).toMatchObject({ status: 401, errorCode: 'AADSTS7000215' });
  });

  it('expired secret → AADSTS7000222 invalid_client', async () => {
    sim.updateApp(TENANT, CLIENT, { secretExpired: true });
    try {
      const err = await rejection(credential().getToken(GRAPH_SCOPE));
      expectEntraRejection(err, 'invalid_client', 7000222);
      expect(err.message).toContain('are expired');
    } finally {
      sim.updateApp(TENANT, CLIENT, { secretExpired: false });
    }
  });

  it('unknown client id → AADSTS700016 unauthorized_client (HTTP 400)', async () => {
    const err = await rejection(credential({ clientId: '00000000-aaaa-4bbb-8ccc-000000000001' }).getToken(GRAPH_SCOPE));
    expectEntraRejection(err, 'unauthorized_client', 700016);
    expect(sim.requests({ service: 'entra' }).at(-1)).toMatchObject({ status: 400 });
  });

  it('unknown tenant → AADSTS90002 (invalid_tenant by default, invalid_request when configured)', async () => {
    const unknown = '0badc0de-0000-4000-8000-000000000000';
    expectEntraRejection(await rejection(credential({ tenantId: unknown }).getToken(GRAPH_SCOPE)), 'invalid_tenant', 90002);
    const other = await startEntraGraphSimulator({ unknownTenantError: 'invalid_request' });
    try {
      const cred = new ClientSecretCredential(unknown, CLIENT, SECRET, { authorityHost: other.url, disableInstanceDiscovery: true });
      expectEntraRejection(await rejection(cred.getToken(GRAPH_SCOPE)), 'invalid_request', 90002);
    } finally {
      await other.close();
    }
  });

  it('malformed tenant → AADSTS900023 invalid_request', async () => {
    const err = await rejection(credential({ tenantId: 'contoso' }).getToken(GRAPH_SCOPE));
    expectEntraRejection(err, 'invalid_request', 900023);
    expect(err.message).toContain("Specified tenant identifier 'contoso' is neither a valid DNS name");
  });

  it('forced codes: 7000112 (app disabled) via the app flag, 53003 via the fault queue', async () => {
    sim.updateApp(TENANT, CLIENT, { disabled: true });
    try {
      expectEntraRejection(await rejection(credential().getToken(GRAPH_SCOPE)), 'unauthorized_client', 7000112);
    } finally {
      sim.updateApp(TENANT, CLIENT, { disabled: false });
    }
    sim.failTokenRequests({ kind: 'aadsts', code: 53003 }, { clientId: CLIENT });
    expectEntraRejection(await rejection(credential().getToken(GRAPH_SCOPE)), 'invalid_grant', 53003);
    sim.failTokenRequests({ kind: 'aadsts', code: 50034, error: 'invalid_request', description: 'Custom text.' });
    const custom = await rejection(credential().getToken(GRAPH_SCOPE));
    expectEntraRejection(custom, 'invalid_request', 50034);
    expect(custom.message).toContain('AADSTS50034: Custom text.');
  });

  it('strict discovery: an unknown tenant fails at openid-configuration → CredentialUnavailableError', async () => {
    const strict = await startEntraGraphSimulator({ discovery: 'strict' });
    try {
      const cred = new ClientSecretCredential('0badc0de-0000-4000-8000-000000000000', CLIENT, SECRET, {
        authorityHost: strict.url,
        disableInstanceDiscovery: true,
      });
      const err = await rejection(cred.getToken(GRAPH_SCOPE));
      expect(err.name).toBe('CredentialUnavailableError');
      expect(err.message).toBe('endpoints_resolution_error: See https://aka.ms/msal.js.errors#endpoints_resolution_error for details');
      expect(err.message).not.toContain('AADSTS');
      expect(strict.requests()).toMatchObject([{ service: 'entra', status: 400, errorCode: 'AADSTS90002' }]);
      expect(strict.tokenRequests()).toBe(0);
    } finally {
      await strict.close();
    }
  });

  it('5xx: retried 3 times by the identity pipeline, then throttled by MSAL without a request', async () => {
    const cred = credential({}, { retryOptions: { maxRetries: 3, retryDelayInMs: 5, maxRetryDelayInMs: 10 } });
    sim.failTokenRequests({ kind: 'status', status: 503 }, { clientId: CLIENT, times: 10 });
    const before = sim.tokenRequests(CLIENT);
    const err = await rejection(cred.getToken(GRAPH_SCOPE));
    expect(sim.tokenRequests(CLIENT) - before).toBe(4);
    expect(err.name).toBe('AuthenticationRequiredError');
    expect(err.message.startsWith('temporarily_unavailable: Error(s):  - Timestamp: ')).toBe(true);
    expect(err.message).not.toContain('AADSTS');
    expect(err.cause).toBeUndefined();
    sim.clearFaults();

    const again = await rejection(cred.getToken(GRAPH_SCOPE));
    expect(sim.tokenRequests(CLIENT) - before).toBe(4); // served from MSAL's throttling cache
    expect(again.name).toBe('AuthenticationRequiredError');
    expect(again.message.startsWith(': The service is temporarily unavailable.')).toBe(true);

    // A fresh credential has its own MSAL cache and goes to the network again.
    await expect(credential().getToken(GRAPH_SCOPE)).resolves.toBeTruthy();
  });

  it('connection reset at the token endpoint → AuthenticationRequiredError network_error', async () => {
    sim.failTokenRequests({ kind: 'reset' }, { clientId: CLIENT });
    const err = await rejection(credential().getToken(GRAPH_SCOPE));
    expect(err.name).toBe('AuthenticationRequiredError');
    expect(err.message).toBe('network_error: See https://aka.ms/msal.js.errors#network_error for details');
    expect(err.cause).toBeUndefined();
  });

  it('hang: abortSignal is ignored; a perRetry policy setting request.timeout bounds it', async () => {
    sim.failTokenRequests({ kind: 'hang' }, { clientId: CLIENT, times: 2 });
    const ignored = credential()
      .getToken(GRAPH_SCOPE, { abortSignal: AbortSignal.timeout(100) })
      .then(
        () => 'resolved',
        () => 'rejected',
      );
    const raced = await Promise.race([ignored, new Promise((resolve) => setTimeout(() => resolve('pending'), 600))]);
    expect(raced).toBe('pending');

    const perTryTimeout: PipelinePolicy = {
      name: 'perTryTimeout',
      sendRequest: (request, next) => {
        request.timeout = 200;
        return next(request);
      },
    };
    const started = Date.now();
    const err = await rejection(credential({}, { additionalPolicies: [{ policy: perTryTimeout, position: 'perRetry' }] }).getToken(GRAPH_SCOPE));
    expect(Date.now() - started).toBeLessThan(2000);
    expect(err.name).toBe('AuthenticationRequiredError');
    expect(err.message).toBe('network_error: See https://aka.ms/msal.js.errors#network_error for details');
  });

  it('connection refused on the first call → CredentialUnavailableError endpoints_resolution_error', async () => {
    const gone = await startEntraGraphSimulator();
    const url = gone.url;
    await gone.close();
    const cred = new ClientSecretCredential(TENANT, CLIENT, SECRET, { authorityHost: url, disableInstanceDiscovery: true, retryOptions: { maxRetries: 0 } });
    const err = await rejection(cred.getToken(GRAPH_SCOPE));
    expect(err.name).toBe('CredentialUnavailableError');
    expect(err.message).toBe('endpoints_resolution_error: See https://aka.ms/msal.js.errors#endpoints_resolution_error for details');
  });

  it('constructor: empty values and bad tenant characters throw synchronously', () => {
    const construct = (tenant: string, client: string, secret: string, authorityHost = sim.url) => () =>
      new ClientSecretCredential(tenant, client, secret, { authorityHost });
    expect(construct(TENANT, CLIENT, '')).toThrow(expect.objectContaining({ name: 'CredentialUnavailableError', message: expect.stringContaining('clientSecret is a required parameter') }));
    expect(construct('', CLIENT, SECRET)).toThrow(expect.objectContaining({ name: 'CredentialUnavailableError', message: expect.stringContaining('tenantId is a required parameter') }));
    expect(construct(TENANT, '', SECRET)).toThrow(expect.objectContaining({ name: 'CredentialUnavailableError', message: expect.stringContaining('clientId is a required parameter') }));
    let bad: unknown;
    try {
      construct('bad tenant!', CLIENT, SECRET)();
    } catch (err) {
      bad = err;
    }
    expect(bad).toBeInstanceOf(Error);
    expect((bad as Error).constructor).toBe(Error);
    expect((bad as Error).message).toMatch(/^Invalid tenant id provided\./);
    expect(construct(TENANT, CLIENT, SECRET, 'http://127.0.0.1:1')).toThrow("The authorityHost address must use the 'https' protocol.");
  });

  it('counts token requests per client id', async () => {
    sim.resetStats();
    const other = '11111111-2222-4333-8444-555555555555';
    sim.addApp({ tenantId: TENANT, clientId: other, clientSecret: 'x' });
    await credential({ clientId: other, secret: 'x' }).getToken(GRAPH_SCOPE);
    await rejection(credential({ clientId: other, secret: 'y' }).getToken(GRAPH_SCOPE));
    expect(sim.tokenRequests(other)).toBe(2);
    expect(sim.tokensIssued(other)).toBe(1);
    expect(sim.tokenRequests(CLIENT)).toBe(0);
    expect(sim.tokenRequests()).toBe(2);
    expect(sim.discoveryRequests()).toBe(2);
  });
});
