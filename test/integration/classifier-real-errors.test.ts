import { TableClient } from '@azure/data-tables';
import { ClientSecretCredential } from '@azure/identity';
import { circuitBreaker, ConsecutiveBreaker, handleAll, timeout, TimeoutStrategy } from 'cockatiel';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzuriteTables, type AzuriteTables } from '../../dev/azurite';
import { startEntraGraphSimulator, type EntraGraphSimulator } from '../../dev/simulators/entraGraph';
import { partnerResponses, startPartnerSimulator, type PartnerSimulator } from '../../dev/simulators/partner';
import { CATALOGUE } from '../../shared/diagnostics/catalogue';
import { diagnose } from '../../shared/diagnostics/classifier';
import { IntegrationDisabledError, MalformedUrlError, NoMappingEntryError, PartnerHttpError } from '../../shared/diagnostics/domainErrors';
import type { Diagnosis, DiagnosisContext } from '../../shared/diagnostics/types';
import { GraphCalendarGateway, type GraphCall } from '../../shared/exchange/graphGateway';
import { validateTenantId } from '../../shared/exchange/tenantId';
import { parseAppointmentMessage } from '../../shared/messages/appointmentMessage';
import { passConnectorGate } from '../../shared/pipeline/connectorGate';
import { ConnectorStore } from '../../shared/storage/connectors';
import { createSecretProtector } from '../../shared/storage/secretProtector';
import { createTableProvider } from '../../shared/storage/tableClients';
import { appointmentMessage } from '../support/exchangeHarness';

/**
 * The classifier against the errors the real SDKs throw, produced on loopback: @azure/identity against
 * the Entra simulator, the Graph client against the Graph simulator, @azure/data-tables against
 * Azurite, fetch and cockatiel against the partner simulator, and our own pre-call checks. The last
 * test fails when a catalogued code has no realistic producer here.
 */
const produced = new Map<string, string>();

function expectCode(error: unknown, ctx: DiagnosisContext, code: string, textIncludes?: string): Diagnosis {
  const diagnosis = diagnose(error, ctx);
  expect(diagnosis.code, `${diagnosis.message}`).toBe(code);
  expect(diagnosis.message.startsWith(`[${code}] `)).toBe(true);
  if (textIncludes) expect(diagnosis.message).toContain(textIncludes);
  produced.set(code, diagnosis.rule);
  return diagnosis;
}

async function rejection(promise: Promise<unknown> | (() => unknown)): Promise<unknown> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

const TENANT = '3f2b9a4e-1c7d-4e8f-9a0b-1c2d3e4f5a6b';
const CLIENT = '9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a';
const SECRET = 'S1m~ulat0r.secret';
const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';
const exchange = (extra: DiagnosisContext = {}): DiagnosisContext => ({ connector: 'exchange', tenantId: TENANT, clientId: CLIENT, secrets: [SECRET], ...extra });
const webhook: DiagnosisContext = { connector: 'webhook', timeoutMs: 200 };

let sim: EntraGraphSimulator;
let azurite: AzuriteTables;
let partner: PartnerSimulator;

beforeAll(async () => {
  [sim, azurite, partner] = await Promise.all([startEntraGraphSimulator(), startAzuriteTables({ inMemory: true }), startPartnerSimulator()]);
  sim.addTenant({ tenantId: TENANT });
  sim.addApp({ tenantId: TENANT, clientId: CLIENT, clientSecret: SECRET });
  sim.addMailbox('jane@contoso.com', { tenantId: TENANT });
});

afterAll(async () => {
  await Promise.allSettled([sim?.close(), azurite?.close(), partner?.close()]);
});

describe('@azure/identity ClientSecretCredential against the Entra token endpoint', () => {
  const token = (clientId: string, secret: string, tenant = TENANT) =>
    new ClientSecretCredential(tenant, clientId, secret, { authorityHost: sim.url, disableInstanceDiscovery: true, retryOptions: { maxRetries: 0 } }).getToken(GRAPH_SCOPE);

  it('DSEX001 … DSEX005 from the AADSTS code in the message', async () => {
    sim.addApp({ tenantId: TENANT, clientId: 'expired-app', clientSecret: SECRET, secretExpired: true });
    sim.addApp({ tenantId: TENANT, clientId: 'disabled-app', clientSecret: SECRET, disabled: true });
    expectCode(await rejection(token('expired-app', SECRET)), exchange({ clientId: 'expired-app' }), 'DSEX001', "client ID 'expired-app' has expired (AADSTS7000222)");
    expectCode(await rejection(token(CLIENT, 'wrong')), exchange(), 'DSEX002', 'AADSTS7000215');
    expectCode(await rejection(token('unknown-app', SECRET)), exchange(), 'DSEX003', 'AADSTS700016');
    expectCode(await rejection(token(CLIENT, SECRET, '0badc0de-0000-4000-8000-000000000000')), exchange(), 'DSEX004', 'AADSTS90002');
    expectCode(await rejection(token(CLIENT, SECRET, 'unknown-tenant')), exchange(), 'DSEX004', 'AADSTS900023');
    expectCode(await rejection(token('disabled-app', SECRET)), exchange(), 'DSEX005', 'AADSTS7000112');
  });

  it('DSEX004 and DSEX006 from the constructor, before any call', async () => {
    expectCode(await rejection(() => new ClientSecretCredential('bad tenant!', CLIENT, SECRET)), exchange(), 'DSEX004');
    expectCode(await rejection(() => validateTenantId('bad tenant!')), exchange(), 'DSEX004', "'bad tenant!' is malformed");
    expectCode(await rejection(() => token(CLIENT, '')), exchange(), 'DSEX006', 'Incomplete Exchange credentials');
  });

  it('DSEX040 when the token endpoint is down or resets', async () => {
    sim.failTokenRequests({ kind: 'status', status: 503 }, { times: 1 });
    expectCode(await rejection(token(CLIENT, SECRET)), exchange(), 'DSEX040', 'Transient error from Microsoft Graph: token endpoint');
    sim.failTokenRequests({ kind: 'reset' }, { times: 1 });
    expectCode(await rejection(token(CLIENT, SECRET)), exchange(), 'DSEX040', 'network_error');
  });
});

describe('@microsoft/microsoft-graph-client through our gateway against the Graph simulator', () => {
  let gateway: GraphCalendarGateway;
  let call: GraphCall;
  const event = { subject: 's', start: { dateTime: '2026-11-23T09:00:00', timeZone: 'UTC' }, end: { dateTime: '2026-11-23T10:00:00', timeZone: 'UTC' } };

  beforeAll(() => {
    gateway = new GraphCalendarGateway({ requestTimeoutMs: 300, maxConcurrencyPerMailbox: 4, maxAttempts: 1 });
    call = { baseUrl: sim.url, accessToken: sim.issueToken(TENANT, CLIENT).accessToken, mailbox: 'jane@contoso.com' };
  });

  it('DSEX010, DSEX012, DSEX020, DSEX021, DSEX030 from Graph status and code', async () => {
    sim.injectGraphFault({ kind: 'unauthorized' }, { times: 1 });
    expectCode(await rejection(gateway.createEvent(call, { ...event, transactionId: 't1' })), exchange(), 'DSEX010', 'InvalidAuthenticationToken');
    expectCode(await rejection(gateway.createEvent({ ...call, mailbox: 'ghost@contoso.com' }, { ...event, transactionId: 't2' })), exchange(), 'DSEX012', 'ErrorInvalidUser');
    expectCode(await rejection(gateway.updateEvent(call, 'no-such-event', event)), exchange({ operation: 'update' }), 'DSEX020', 'ErrorItemNotFound');
    expectCode(await rejection(gateway.deleteEvent(call, 'no-such-event')), exchange({ operation: 'delete' }), 'DSEX021');
    sim.injectGraphFault({ kind: 'error', status: 403, code: 'ErrorAccessDenied', message: 'Access is denied. Check credentials and try again.' }, { times: 1 });
    expectCode(
      await rejection(gateway.createEvent(call, { ...event, transactionId: 't3' })),
      exchange(),
      'DSEX030',
      'The Azure AD app does not have sufficient permissions to write events to the calendar. 403 ErrorAccessDenied',
    );
  });

  it('DSEX040 for throttling (with its Retry-After), resets and hangs', async () => {
    sim.injectGraphFault({ kind: 'reset' }, { times: 1 });
    expectCode(await rejection(gateway.createEvent(call, { ...event, transactionId: 't5' })), exchange(), 'DSEX040', 'ECONNRESET');
    sim.injectGraphFault({ kind: 'hang' }, { times: 1 });
    expectCode(await rejection(gateway.createEvent(call, { ...event, transactionId: 't6' })), exchange(), 'DSEX040', 'timed out after 300 ms');
    // Last: the Retry-After holds for the whole mailbox, so nothing more is sent to jane for 120 s.
    sim.injectGraphFault({ kind: 'throttle', retryAfterSeconds: 120 }, { times: 1 });
    const throttled = expectCode(await rejection(gateway.createEvent(call, { ...event, transactionId: 't4' })), exchange(), 'DSEX040', '429 ApplicationThrottled');
    expect(throttled.retryAfterSeconds).toBe(120);
    const sent = sim.requests({ service: 'graph', mailbox: call.mailbox }).length;
    const held = expectCode(await rejection(gateway.createEvent(call, { ...event, transactionId: 't7' })), exchange(), 'DSEX040', 'not sent');
    expect(held.retryAfterSeconds).toBeGreaterThan(100);
    expect(sim.requests({ service: 'graph', mailbox: call.mailbox })).toHaveLength(sent);
  });
});

describe('our own checks before any call', () => {
  it('DSEX011, DSEX020 and the schema check', async () => {
    expectCode(new IntegrationDisabledError([{ number: 'R1', name: 'Van' }]), exchange(), 'DSEX011', 'Van (R1)');
    expectCode(new NoMappingEntryError('APT-1', { number: 'R1', name: 'Van' }), exchange(), 'DSEX020');
    expectCode(await rejection(() => parseAppointmentMessage('{"schemaVersion":2}')), {}, 'DSCFG004', 'schemaVersion 2 is not supported');
  });

  it('the connector gate: DSCFG001/002/003/005 and their webhook twins DSWBHK001/003', async () => {
    const protector = createSecretProtector(Buffer.alloc(32, 1));
    const store = new ConnectorStore(createTableProvider({ connectionString: azurite.connectionString }), protector);
    const base = { tenantId: 't', name: 'n', allowedToSend: true };
    await store.save({ ...base, connectorId: 'no-type', type: '' });
    await store.save({ ...base, connectorId: 'legacy', type: 'WebService' });
    await store.save({ ...base, connectorId: 'exchange-off', type: 'Exchange', allowedToSend: false });
    await store.save({ ...base, connectorId: 'webhook-off', type: 'Webhook', allowedToSend: false });
    const gate = (connectorId: string, connectorType?: 'Exchange' | 'Webhook') =>
      rejection(passConnectorGate(store, parseAppointmentMessage(appointmentMessage({ tenantId: 't', connectorId, connectorType }))));
    expectCode(await gate('missing'), { connector: 'exchange' }, 'DSCFG003', "Connector 'missing' does not exist for tenant 't'");
    expectCode(await gate('no-type'), { connector: 'exchange' }, 'DSCFG002', 'no type');
    expectCode(await gate('legacy'), {}, 'DSCFG005', "'WebService'");
    expectCode(await gate('legacy', 'Webhook'), { connector: 'webhook' }, 'DSWBHK003');
    expectCode(await gate('exchange-off'), { connector: 'exchange' }, 'DSCFG001');
    expectCode(await gate('webhook-off'), { connector: 'webhook' }, 'DSWBHK001');
  });

  it('DSCFG006 for a secret protected with another key, DSCFG007 and DSWBHK002 for bad addresses', async () => {
    const stored = createSecretProtector(Buffer.alloc(32, 1)).protect(SECRET);
    expectCode(await rejection(() => createSecretProtector(Buffer.alloc(32, 2)).unprotect(stored)), exchange(), 'DSCFG006', 'does not decrypt');
    expectCode(new MalformedUrlError('Graph URL override', 'http://graph.microsoft.us', 'not an https URL'), exchange(), 'DSCFG007');
    expectCode(new MalformedUrlError('webhookUrl', 'ftp://partner', 'not an https URL'), { connector: 'webhook' }, 'DSWBHK002');
  });
});

describe('fetch and cockatiel against the partner simulator', () => {
  const post = (path: string, signal?: AbortSignal) => fetch(`${partner.url}${path}`, { method: 'POST', body: '{}', redirect: 'manual', signal });
  const partnerError = async (response: Response, attempts: number) => new PartnerHttpError(response.status, response.statusText, await response.text(), attempts);

  it('DSWBHK010 when cockatiel times the call out', async () => {
    partner.queue(partnerResponses.hang(), '/slow');
    const policy = timeout(200, TimeoutStrategy.Aggressive);
    expectCode(await rejection(policy.execute(({ signal }) => post('/slow', signal))), webhook, 'DSWBHK010', 'within 200 ms');
  });

  it('DSWBHK020 and DSCFG008 from the partner status', async () => {
    partner.queue(partnerResponses.status(502, 'upstream down'), '/bad');
    expectCode(await partnerError(await post('/bad'), 3), webhook, 'DSWBHK020', 'Status code: 502.');
    partner.queue(partnerResponses.status(401, 'bad signature'), '/auth');
    expectCode(await partnerError(await post('/auth'), 1), webhook, 'DSCFG008', '401');
  });

  it('DSWBHK030 when the breaker is open', async () => {
    const breaker = circuitBreaker(handleAll, { halfOpenAfter: 60_000, breaker: new ConsecutiveBreaker(1) });
    partner.queue(partnerResponses.status(500), '/breaker');
    await rejection(breaker.execute(async () => {
      const response = await post('/breaker');
      throw await partnerError(response, 1);
    }));
    expectCode(await rejection(breaker.execute(() => post('/breaker'))), webhook, 'DSWBHK030');
  });

  it('DSHTTP001 for a connection failure no connector rule specialises', async () => {
    const closed: Server = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    expectCode(await rejection(fetch(`https://127.0.0.1:${port}/`)), webhook, 'DSHTTP001', 'ECONNREFUSED');
  });
});

describe('@azure/data-tables against Azurite', () => {
  const client = (connectionString: string) =>
    TableClient.fromConnectionString(connectionString, 'ClassifierProbe', { allowInsecureConnection: true, retryOptions: { maxRetries: 0 } });

  it('DSDB003 on a stale ETag, DSDB002 on a rejected key', async () => {
    const table = client(azurite.connectionString);
    await table.createTable();
    await table.createEntity({ partitionKey: 'p', rowKey: 'r', v: 1 });
    const first = await table.getEntity('p', 'r');
    await table.updateEntity({ partitionKey: 'p', rowKey: 'r', v: 2 }, 'Replace', { etag: first.etag });
    expectCode(await rejection(table.updateEntity({ partitionKey: 'p', rowKey: 'r', v: 3 }, 'Replace', { etag: first.etag })), { stage: 'record' }, 'DSDB003', '412');
    const wrongKey = azurite.connectionString.replace(/AccountKey=[^;]+/, `AccountKey=${Buffer.alloc(64, 1).toString('base64')}`);
    expectCode(await rejection(client(wrongKey).getEntity('p', 'r')), { stage: 'record' }, 'DSDB002', '403');
  });

  it('DSDB001 when storage refuses connections, DSDB004 when it does not answer in time', async () => {
    const down = await startAzuriteTables({ inMemory: true });
    const downConnection = down.connectionString;
    await down.close();
    expectCode(await rejection(client(downConnection).getEntity('p', 'r')), { stage: 'record' }, 'DSDB001', 'ECONNREFUSED');

    const silent: Server = createServer(() => undefined); // accepts and never answers
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      const provider = createTableProvider({ connectionString: downConnection.replace(/:\d+\/devstoreaccount1/, `:${port}/devstoreaccount1`), requestTimeoutMs: 200 });
      expectCode(await rejection(provider.table('Transactions')), { stage: 'record' }, 'DSDB004');
    } finally {
      silent.close();
    }
  });
});

describe('anything else', () => {
  it('DSUNK001 keeps the verbatim text and the stack', async () => {
    const d = expectCode(await rejection(() => new Date(Number.NaN).toISOString()), { connector: 'exchange' }, 'DSUNK001', 'RangeError: Invalid time value');
    expect(d.stack).toContain('RangeError');
  });
});

describe('coverage', () => {
  it('every catalogued code was produced above from a realistic error', () => {
    const missing = CATALOGUE.map((e) => e.code).filter((code) => !produced.has(code));
    expect(missing).toEqual([]);
  });
});
