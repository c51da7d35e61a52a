import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { customDimensions } from '../../dev/simulators/appInsightsSink';
import { createSecretProtector } from '../../shared/storage/secretProtector';
import { appointmentMessage, startExchangeHarness, type ExchangeHarness, type MessageOptions } from '../support/exchangeHarness';
import { expectDiagnosed as expectRowDiagnosed } from '../support/expectDiagnosed';

/**
 * Every DSEX code (and the shared-layer DSCFG codes an Exchange connector can hit), produced by real
 * failures: the real ClientSecretCredential against the Entra simulator, the real Graph client
 * against the Graph simulator, Azurite for every table, the real App Insights exporter to the sink.
 */
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const SECRET = 'Qx8~good-client-secret-value';
const MAILBOX = 'jane@contoso.com';
const JANE = { number: 'R001', name: 'Jane Doe', email: MAILBOX, exchangeEnabled: true };

let h: ExchangeHarness;
let clientSeq = 0;

/** A connector (and by default a matching Entra app) of its own, so cases never share state. */
async function connector(
  overrides: { entraTenantId?: string; clientSecret?: string; app?: Partial<{ secretExpired: boolean; disabled: boolean; graphPermission: boolean }> | false; extra?: Record<string, unknown> } = {},
): Promise<{ connectorId: string; clientId: string }> {
  clientSeq += 1;
  const clientId = `00000000-0000-4000-8000-${String(clientSeq).padStart(12, '0')}`;
  const connectorId = `exchange-${clientSeq}`;
  if (overrides.app !== false) h.sim.addApp({ tenantId: TENANT, clientId, clientSecret: SECRET, ...overrides.app });
  await h.seedConnector({
    tenantId: 'contoso',
    connectorId,
    entraTenantId: overrides.entraTenantId ?? TENANT,
    clientId,
    clientSecret: overrides.clientSecret ?? SECRET,
    ...overrides.extra,
  });
  return { connectorId, clientId };
}

let messageSeq = 0;
async function send(options: MessageOptions, meta: { messageId?: string; applicationProperties?: Record<string, unknown> } = {}) {
  messageSeq += 1;
  const messageId = meta.messageId ?? `m-${messageSeq}`;
  await h.deliver(appointmentMessage({ appointmentId: `APT-${messageSeq}`, ...options }), { ...meta, messageId });
  const row = await h.row(options.tenantId ?? 'contoso', messageId);
  expect(row, `row for ${messageId}`).toBeDefined();
  return row!;
}

/** The row, the log line and the telemetry envelope all carry the code. */
const expectDiagnosed = (row: Awaited<ReturnType<typeof send>>, code: string, status: string) => expectRowDiagnosed(h, row, code, status);

beforeAll(async () => {
  h = await startExchangeHarness();
  h.sim.addTenant({ tenantId: TENANT, domains: ['contoso.onmicrosoft.com'] });
  h.sim.addMailbox(MAILBOX, { tenantId: TENANT });
  h.sim.addMailbox('nobox@contoso.com', { tenantId: TENANT, mailboxEnabled: false });
});

afterAll(async () => {
  await h?.close();
});

describe('credential failures, before or at the token endpoint', () => {
  it('DSEX001 expired client secret (AADSTS7000222), carrying the client id', async () => {
    const { connectorId, clientId } = await connector({ app: { secretExpired: true } });
    const row = await send({ connectorId });
    await expectDiagnosed(row, 'DSEX001', 'InvalidBackOfficeSettings');
    expect(row.message).toContain(`client ID '${clientId}' has expired (AADSTS7000222)`);
    expect(row.retryClass).toBe('fix-config');
    expect(row.message).not.toContain(SECRET);
  });

  it('DSEX002 invalid client secret (AADSTS7000215)', async () => {
    const { connectorId } = await connector({ clientSecret: 'not-the-secret' });
    const row = await send({ connectorId });
    await expectDiagnosed(row, 'DSEX002', 'InvalidBackOfficeSettings');
    expect(row.message).toMatch(/^\[DSEX002\] The client secret of client ID '.+' is invalid \(AADSTS7000215, invalid_client\)/);
    expect(row.message).not.toContain('not-the-secret');
  });

  it('DSEX003 unknown client id (AADSTS700016)', async () => {
    const { connectorId } = await connector({ app: false });
    await expectDiagnosed(await send({ connectorId }), 'DSEX003', 'InvalidBackOfficeSettings');
  });

  it('DSEX004 unknown tenant (AADSTS90002) and a tenant id that fails local validation', async () => {
    const unknown = await connector({ entraTenantId: '0badc0de-0000-4000-8000-000000000000', app: false });
    const row = await send({ connectorId: unknown.connectorId });
    await expectDiagnosed(row, 'DSEX004', 'InvalidBackOfficeSettings');
    expect(row.message).toContain('AADSTS90002');
    const requestsBefore = h.sim.tokenRequests();
    const malformed = await connector({ entraTenantId: 'bad tenant!', app: false });
    const local = await send({ connectorId: malformed.connectorId });
    await expectDiagnosed(local, 'DSEX004', 'InvalidBackOfficeSettings');
    expect(local.message).toContain("The tenant ID 'bad tenant!' is malformed");
    expect(h.sim.tokenRequests()).toBe(requestsBefore); // rejected before any call
  });

  it('DSEX005 other rejected credentials (a disabled application, AADSTS7000112)', async () => {
    const { connectorId } = await connector({ app: { disabled: true } });
    const row = await send({ connectorId });
    await expectDiagnosed(row, 'DSEX005', 'InvalidBackOfficeSettings');
    expect(row.message).toContain('AADSTS7000112');
  });

  it('DSEX006 incomplete credentials, naming the missing fields', async () => {
    clientSeq += 1;
    await h.seedConnector({ tenantId: 'contoso', connectorId: 'incomplete', entraTenantId: TENANT });
    const row = await send({ connectorId: 'incomplete' });
    await expectDiagnosed(row, 'DSEX006', 'InvalidBackOfficeSettings');
    expect(row.message).toBe('[DSEX006] Incomplete Exchange credentials: Client ID, Client Secret missing.');
  });
});

describe('failures at the Graph call', () => {
  it('DSEX010 credentials rejected after the call (Graph 401)', async () => {
    const { connectorId } = await connector();
    h.sim.injectGraphFault({ kind: 'unauthorized' }, { mailbox: MAILBOX, times: 1 });
    await expectDiagnosed(await send({ connectorId }), 'DSEX010', 'Skipped');
  });

  it('DSEX011 lists the Resource (No) pairs, or says no resources were assigned', async () => {
    const { connectorId } = await connector();
    const disabled = await send({ connectorId, resources: [{ number: 'R007', name: 'Van 7', exchangeEnabled: false }, { number: 'R008', name: 'Crane', exchangeEnabled: false }] });
    await expectDiagnosed(disabled, 'DSEX011', 'Skipped');
    expect(disabled.message).toBe('[DSEX011] Exchange integration is disabled for Van 7 (R007), Crane (R008)');
    const none = await send({ connectorId, resources: [] });
    expect(none.message).toBe('[DSEX011] No resources were assigned to this appointment');
  });

  it('DSEX012 invalid user in the directory (ErrorInvalidUser, MailboxNotEnabledForRESTAPI)', async () => {
    const { connectorId } = await connector();
    const ghost = await send({ connectorId, resources: [{ number: 'R404', name: 'Ghost', email: 'ghost@contoso.com', exchangeEnabled: true }] });
    await expectDiagnosed(ghost, 'DSEX012', 'Skipped');
    expect(ghost.message).toContain("Ghost (R404) <ghost@contoso.com>");
    const noMailbox = await send({ connectorId, resources: [{ number: 'R405', name: 'No Box', email: 'nobox@contoso.com', exchangeEnabled: true }] });
    await expectDiagnosed(noMailbox, 'DSEX012', 'Skipped');
    expect(noMailbox.message).toContain('MailboxNotEnabledForRESTAPI');
  });

  it('DSEX020 update without a mapping entry, then the replay re-establishes the event', async () => {
    const { connectorId } = await connector();
    const first = await send({ connectorId, action: 'update', appointmentId: 'APT-NOMAP' }, { messageId: 'nomap' });
    await expectDiagnosed(first, 'DSEX020', 'EmptyBackOffice');
    expect(first.retryClass).toBe('retried');
    const before = h.sim.events(MAILBOX).length;
    await h.deliver(appointmentMessage({ connectorId, action: 'update', appointmentId: 'APT-NOMAP' }), {
      messageId: 'nomap:2',
      applicationProperties: { transactionId: 'nomap', source: 'Timer job' },
    });
    const replayed = await h.row('contoso', 'nomap');
    expect(replayed).toMatchObject({ status: 'Succeeded', attempts: 2, source: 'Timer job' });
    expect(h.sim.events(MAILBOX).length).toBe(before + 1);
  });

  it('DSEX021 delete of an event already deleted in Outlook: Skipped, never retried', async () => {
    const { connectorId, clientId } = await connector();
    await send({ connectorId, appointmentId: 'APT-GONE' });
    // The user deletes the event in Outlook: a real Graph DELETE, outside the connector.
    const mapping = await h.deps.mappings.get('contoso', connectorId, 'APT-GONE', 'R001');
    expect(mapping?.eventId).toBeDefined();
    const { accessToken } = h.sim.issueToken(TENANT, clientId);
    const gone = await fetch(`${h.sim.url}/v1.0/users/${MAILBOX}/events/${mapping!.eventId}`, { method: 'DELETE', headers: { authorization: `Bearer ${accessToken}` } });
    expect(gone.status).toBe(204);
    const row = await send({ connectorId, appointmentId: 'APT-GONE', action: 'delete', appointmentVersion: 2 });
    await expectDiagnosed(row, 'DSEX021', 'Skipped');
    expect(row.retryClass).toBe('n/a');
    expect(row.nextAttemptAt).toBeUndefined();
    expect(await h.deps.mappings.get('contoso', connectorId, 'APT-GONE', 'R001')).toBeUndefined();
  });

  it('DSEX030 access denied: the canned prefix followed by Graph\'s message', async () => {
    const { connectorId } = await connector({ app: { graphPermission: false } });
    const row = await send({ connectorId });
    await expectDiagnosed(row, 'DSEX030', 'Failed');
    expect(row.message).toBe(
      '[DSEX030] The Azure AD app does not have sufficient permissions to write events to the calendar. 403 ErrorAccessDenied: Access is denied. Check credentials and try again.',
    );
    expect(row.retryClass).toBe('retried');
  });

  it('DSEX040 Graph transient after the in-invocation retries: the spec\'s text, and a next attempt scheduled', async () => {
    const { connectorId } = await connector();
    h.sim.injectGraphFault({ kind: 'unavailable' }, { mailbox: MAILBOX, times: 3 });
    const row = await send({ connectorId });
    await expectDiagnosed(row, 'DSEX040', 'Failed');
    expect(row.message).toMatch(/^\[DSEX040\] Transient error from Microsoft Graph: 503 UnknownError\. Will retry on the next sync attempt\.$/);
    expect(Date.parse(row.nextAttemptAt!)).toBeGreaterThan(Date.parse(row.lastAttemptAt));
  });

  it('DSEX040 on a connection reset keeps the network cause', async () => {
    const { connectorId } = await connector();
    h.sim.injectGraphFault({ kind: 'reset' }, { mailbox: MAILBOX, times: 3 });
    const row = await send({ connectorId });
    await expectDiagnosed(row, 'DSEX040', 'Failed');
    expect(row.message).toContain('ECONNRESET');
  });

  it('DSEX040 on a hang, bounded by the per-attempt timeout', async () => {
    const { connectorId } = await connector();
    h.sim.injectGraphFault({ kind: 'hang' }, { mailbox: MAILBOX, times: 3 });
    const row = await send({ connectorId });
    await expectDiagnosed(row, 'DSEX040', 'Failed');
    expect(row.message).toContain('timed out after 1500 ms');
  });
});

describe('an undiagnosed failure', () => {
  it('DSUNK001: recorded verbatim, logged with its stack, sent as an exception', async () => {
    const { connectorId } = await connector();
    h.sim.injectGraphFault({ kind: 'error', status: 400, code: 'ErrorInvalidIdMalformed', message: 'Id is malformed.' }, { mailbox: MAILBOX, times: 1 });
    const row = await send({ connectorId });
    await expectDiagnosed(row, 'DSUNK001', 'Failed');
    expect(row.message).toBe('[DSUNK001] GraphError: Id is malformed.');
    expect(row.retryClass).toBe('undiagnosed');
    expect(row.nextAttemptAt).toBeDefined();
    const logged = h.logs.find((l) => l.level === 'error' && l.text.includes(`transactionId=${row.transactionId}`));
    expect(logged?.text).toMatch(/\n\s+at /); // the stack, for the maintainers
    const [exception] = await h.sink.waitFor((e) => e.data?.baseType === 'ExceptionData' && customDimensions(e).transactionId === row.transactionId);
    const sent = exception?.data?.baseData?.exceptions?.[0] as { typeName?: string; hasFullStack?: boolean; parsedStack?: unknown[] } | undefined;
    expect(sent).toMatchObject({ typeName: 'DSUNK001', hasFullStack: true });
    expect(sent?.parsedStack?.length).toBeGreaterThan(0);
  });
});

describe('the shared connector layer', () => {
  it('DSCFG003 for a connector that does not exist', async () => {
    const row = await send({ connectorId: 'no-such-connector' });
    await expectDiagnosed(row, 'DSCFG003', 'EmptyBackOffice');
    expect(row.message).toBe("[DSCFG003] Connector 'no-such-connector' does not exist for tenant 'contoso'");
  });

  it('DSCFG001 for an Exchange connector that is not allowed to send', async () => {
    const { connectorId } = await connector({ extra: { allowedToSend: false } });
    await expectDiagnosed(await send({ connectorId }), 'DSCFG001', 'BackOfficeNotAllowed');
  });

  it('DSCFG005 for a stored type this app does not know', async () => {
    const { connectorId } = await connector({ extra: { type: 'BusinessCentral' } });
    await expectDiagnosed(await send({ connectorId }), 'DSCFG005', 'InvalidBackOfficeType');
  });

  it('DSCFG006 for a client secret that does not decrypt with the current key', async () => {
    const { connectorId } = await connector();
    const stored = await h.deps.connectors.get('contoso', connectorId);
    const otherKey = createSecretProtector(Buffer.alloc(32, 9));
    const client = await h.deps.tables.table('Connectors');
    await client.updateEntity({ partitionKey: 'contoso', rowKey: connectorId, protectedClientSecret: otherKey.protect(SECRET) }, 'Merge');
    expect(stored?.protectedClientSecret).toBeDefined();
    const row = await send({ connectorId });
    await expectDiagnosed(row, 'DSCFG006', 'InvalidBackOfficeSettings');
    expect(row.message).not.toContain(SECRET);
  });

  it('DSCFG007 for a national-cloud Graph override that is not https', async () => {
    const { connectorId } = await connector({ extra: { graphBaseUrl: 'http://graph.microsoft.us' } });
    await expectDiagnosed(await send({ connectorId }), 'DSCFG007', 'WrongUrl');
  });

  it('DSCFG004 keeps an unparseable message as a poison row with its raw body', async () => {
    const broken = '{"schemaVersion":1,"tenantId":"contoso","action":"create"';
    await h.deliver(broken, { messageId: 'poison-1' });
    const row = await h.row('', 'poison-1'); // no tenant can be read from broken JSON: the (unparsed) partition
    expect(row).toBeDefined();
    await expectDiagnosed(row!, 'DSCFG004', 'Failed');
    expect(row!.message).toBe('[DSCFG004] The appointment message does not match the schema: the body is not valid JSON');
    expect(row!.payload).toBe(broken);

    await h.deliver({ ...appointmentMessage(), appointmentVersion: 'three', start: { dateTime: 'tomorrow', timeZone: 'UTC' } }, { messageId: 'poison-2' });
    const invalid = await h.row('contoso', 'poison-2');
    await expectDiagnosed(invalid!, 'DSCFG004', 'Failed');
    expect(invalid!.message).toContain('appointmentVersion: appointmentVersion must be a number');
    expect(invalid!.message).toContain('start.dateTime: must be a local date-time');
  });
});
