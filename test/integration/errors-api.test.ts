import { HttpRequest, InvocationContext, type HttpResponseInit } from '@azure/functions';
import { ServiceBusClient } from '@azure/service-bus';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeConnectorsApi } from '../../functions/connectorsApi';
import { makeErrorsPageHandlers } from '../../functions/errorsPage';
import { makeTransactionsApi } from '../../functions/transactionsApi';
import { appointmentMessage, startExchangeHarness, TEST_QUEUE, type ExchangeHarness } from '../support/exchangeHarness';

/**
 * The Errors API and page handlers against Azurite and the Service Bus test broker, with rows made
 * by the real sync pipeline (real Entra/Graph simulator failures), so every row is one an operator
 * could really see.
 */
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const SECRET = 'Qx8~errors-api-secret-value';
const XSS = '<script>alert("x")</script>';

let h: ExchangeHarness;
let transactions: ReturnType<typeof makeTransactionsApi>;
let connectors: ReturnType<typeof makeConnectorsApi>;
let page: ReturnType<typeof makeErrorsPageHandlers>;

function request(method: string, path: string, init: { query?: Record<string, string>; params?: Record<string, string>; body?: unknown; form?: string } = {}) {
  const url = new URL(`http://localhost:7071/api/${path}`);
  for (const [k, v] of Object.entries(init.query ?? {})) url.searchParams.set(k, v);
  const body = init.form !== undefined ? { string: init.form } : init.body !== undefined ? { string: JSON.stringify(init.body) } : undefined;
  return new HttpRequest({ method, url: url.toString(), query: init.query, params: init.params, ...(body ? { body } : {}) });
}
const context = () => new InvocationContext({ logHandler: () => undefined });
const json = (response: HttpResponseInit) => response.jsonBody as Record<string, unknown> & { items?: Array<Record<string, unknown>> };

async function list(query: Record<string, string>) {
  const response = await transactions.list(request('GET', 'transactions', { query }), context());
  expect(response.status, JSON.stringify(response.jsonBody)).toBe(200);
  return json(response).items!;
}

beforeAll(async () => {
  h = await startExchangeHarness({}, { serviceBus: true });
  transactions = makeTransactionsApi(() => h.deps);
  connectors = makeConnectorsApi(() => h.deps);
  page = makeErrorsPageHandlers(() => h.deps);
  h.sim.addTenant({ tenantId: TENANT });
  h.sim.addApp({ tenantId: TENANT, clientId: 'ok-app', clientSecret: SECRET });
  h.sim.addApp({ tenantId: TENANT, clientId: 'denied-app', clientSecret: SECRET, graphPermission: false });
  h.sim.addMailbox('jane@contoso.com', { tenantId: TENANT });
  for (const [tenantId, connectorId, clientId] of [
    ['contoso', 'ex-ok', 'ok-app'],
    ['contoso', 'ex-denied', 'denied-app'],
    ['fabrikam', 'fab-denied', 'denied-app'],
  ] as const) {
    await h.seedConnector({ tenantId, connectorId, entraTenantId: TENANT, clientId, clientSecret: SECRET });
  }
  const runs: Array<[string, Parameters<typeof appointmentMessage>[0]]> = [
    ['ok-1', { connectorId: 'ex-ok', appointmentId: 'A-ok-1' }],
    ['ok-2', { connectorId: 'ex-ok', appointmentId: 'A-ok-2' }],
    ['denied-1', { connectorId: 'ex-denied', appointmentId: 'A-d-1' }],
    ['denied-2', { connectorId: 'ex-denied', appointmentId: 'A-d-2' }],
    ['denied-3', { connectorId: 'ex-denied', appointmentId: 'A-d-3' }],
    ['disabled-1', { connectorId: 'ex-ok', appointmentId: 'A-x-1', resources: [{ number: 'R9', name: XSS, exchangeEnabled: false }] }],
    ['missing-1', { connectorId: 'ghost', appointmentId: 'A-g-1' }],
    ['fab-1', { tenantId: 'fabrikam', connectorId: 'fab-denied', appointmentId: 'A-f-1' }],
  ];
  for (const [messageId, options] of runs) await h.deliver(appointmentMessage(options), { messageId });
});

afterAll(async () => {
  await h?.close();
});

describe('GET /api/transactions', () => {
  it('filters by tenant, connector, status and error code', async () => {
    expect((await list({ tenant: 'contoso' })).map((r) => r.transactionId).sort()).toEqual(
      ['denied-1', 'denied-2', 'denied-3', 'disabled-1', 'missing-1', 'ok-1', 'ok-2'].sort(),
    );
    expect((await list({ errorCode: 'dsex030' })).map((r) => r.transactionId).sort()).toEqual(['denied-1', 'denied-2', 'denied-3', 'fab-1']);
    expect((await list({ tenant: 'contoso', errorCode: 'DSEX030' })).length).toBe(3);
    expect((await list({ connector: 'ex-ok', status: 'Succeeded' })).map((r) => r.transactionId).sort()).toEqual(['ok-1', 'ok-2']);
    expect((await list({ failedOnly: 'true' })).every((r) => r.status !== 'Succeeded')).toBe(true);
    const [denied] = await list({ errorCode: 'DSEX030', tenant: 'fabrikam' });
    expect(denied).toMatchObject({ code: 'DSEX030', title: 'Access denied by the Azure AD app', explanation: '/api/errors/DSEX030', source: 'Service', replayable: true });
    expect(denied).not.toHaveProperty('payload');
  });

  it('filters by time range', async () => {
    const future = new Date(Date.now() + 3_600_000).toISOString();
    expect(await list({ from: future })).toEqual([]);
    expect((await list({ from: new Date(Date.now() - 3_600_000).toISOString(), to: future })).length).toBe(8);
  });

  it('pages with a continuation token, every row exactly once', async () => {
    const seen: string[] = [];
    let continuationToken: string | undefined;
    let pages = 0;
    do {
      const response = await transactions.list(request('GET', 'transactions', { query: { pageSize: '3', ...(continuationToken ? { continuationToken } : {}) } }), context());
      const body = json(response);
      expect(body.items!.length).toBeLessThanOrEqual(3);
      seen.push(...body.items!.map((r) => String(r.transactionId)));
      continuationToken = body.continuationToken as string | undefined;
      pages += 1;
    } while (continuationToken && pages < 10);
    expect(pages).toBeGreaterThanOrEqual(3);
    expect(seen.sort()).toEqual(['denied-1', 'denied-2', 'denied-3', 'disabled-1', 'fab-1', 'missing-1', 'ok-1', 'ok-2']);
  });

  it.each([
    [{ status: 'Broken' }, 'status must be one of'],
    [{ errorCode: 'DSEX03' }, 'errorCode must look like DSEX030'],
    [{ from: 'yesterday' }, 'from: must be an ISO-8601 date-time'],
    [{ from: '2026-11-21T10:00:00Z', to: '2026-11-20T10:00:00Z' }, 'to must not be before from'],
    [{ pageSize: '0' }, 'pageSize'],
    [{ tenant: 'x'.repeat(201) }, 'tenant'],
    [{ orderby: 'x' }, "unknown parameter 'orderby'"],
  ])('answers 400 with the reason for %j', async (query, reason) => {
    const response = await transactions.list(request('GET', 'transactions', { query: query as Record<string, string> }), context());
    expect(response.status).toBe(400);
    expect(String(json(response).error)).toContain(reason);
  });

  it('cannot be made to widen its Table query by injection', async () => {
    const attempts: Array<Record<string, string>> = [
      { tenant: "contoso' or PartitionKey ne '" },
      { connector: "x' or connectorId ne 'x" },
      { tenant: 'contoso', connector: "ex-ok') or (true" },
    ];
    for (const query of attempts) expect(await list(query)).toEqual([]);
    const refused: Array<Record<string, string>> = [{ status: "Failed' or status ne '" }, { errorCode: "DSEX030' or code ne '" }];
    for (const query of refused) {
      expect((await transactions.list(request('GET', 'transactions', { query }), context())).status).toBe(400);
    }
  });
});

describe('summary, detail and archive', () => {
  it('counts by code and by Status, most frequent first', async () => {
    const summary = json(await transactions.summary(request('GET', 'transactions/summary'), context()));
    expect(summary.byCode).toEqual([
      { code: 'DSEX030', title: 'Access denied by the Azure AD app', status: 'Failed', retry: 'retried', count: 4 },
      { code: 'DSCFG003', title: 'Back-office returned no data', status: 'EmptyBackOffice', retry: 'fix-config', count: 1 },
      { code: 'DSEX011', title: 'Exchange integration disabled', status: 'Skipped', retry: 'fix-config', count: 1 },
    ]);
    expect(summary.byStatus).toEqual(expect.arrayContaining([{ status: 'Failed', count: 4 }, { status: 'Succeeded', count: 2 }]));
    const fabrikam = json(await transactions.summary(request('GET', 'transactions/summary', { query: { tenant: 'fabrikam' } }), context()));
    expect(fabrikam.byCode).toEqual([expect.objectContaining({ code: 'DSEX030', count: 1 })]);
  });

  it('shows one transaction with its history and replayable message, or 404', async () => {
    const one = json(await transactions.get(request('GET', 'transactions/contoso/denied-1', { params: { tenant: 'contoso', id: 'denied-1' } }), context()));
    expect(one).toMatchObject({ transactionId: 'denied-1', code: 'DSEX030', attempts: 1 });
    expect(one.history).toEqual([expect.objectContaining({ source: 'Service', status: 'Failed', code: 'DSEX030' })]);
    expect(JSON.parse(String(one.payload))).toMatchObject({ appointmentId: 'A-d-1' });
    const missing = await transactions.get(request('GET', 'transactions/contoso/nope', { params: { tenant: 'contoso', id: 'nope' } }), context());
    expect(missing.status).toBe(404);
  });

  it('archives a row: hidden by default, shown on request, never replayed', async () => {
    const archived = await transactions.archive(request('POST', 'transactions/contoso/missing-1/archive', { params: { tenant: 'contoso', id: 'missing-1' }, body: { archived: true } }), context());
    expect(json(archived)).toMatchObject({ archived: true, replayable: false });
    expect((await list({ tenant: 'contoso' })).map((r) => r.transactionId)).not.toContain('missing-1');
    expect((await list({ tenant: 'contoso', includeArchived: 'true' })).map((r) => r.transactionId)).toContain('missing-1');
    const replay = await transactions.replayOne(request('POST', 'transactions/contoso/missing-1/replay', { params: { tenant: 'contoso', id: 'missing-1' } }), context());
    expect(replay.status).toBe(400);
    expect(String(json(replay).error)).toContain('archived');
  });
});

describe('replay', () => {
  it('re-enqueues one row; the sync handler consumes it and the row shows Source Website', async () => {
    h.sim.updateApp(TENANT, 'denied-app', { graphPermission: true }); // the operator granted consent
    const response = await transactions.replayOne(request('POST', 'transactions/contoso/denied-1/replay', { params: { tenant: 'contoso', id: 'denied-1' } }), context());
    expect(response.status).toBe(202);
    const client = new ServiceBusClient(h.broker!.connectionString);
    try {
      const receiver = client.createReceiver(TEST_QUEUE);
      const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 5000 });
      expect(message).toBeDefined();
      expect(message!.messageId).toBe('denied-1:2');
      expect(message!.applicationProperties).toMatchObject({ transactionId: 'denied-1', source: 'Website' });
      await h.deliver(message!.body, { messageId: String(message!.messageId), applicationProperties: message!.applicationProperties as Record<string, unknown> });
      await receiver.completeMessage(message!);
      await receiver.close();
    } finally {
      await client.close();
      h.sim.updateApp(TENANT, 'denied-app', { graphPermission: false });
    }
    expect(await h.row('contoso', 'denied-1')).toMatchObject({ status: 'Succeeded', source: 'Website', attempts: 2 });
  });

  it('re-enqueues every row matching a filter, and a double click is dropped by duplicate detection', async () => {
    const before = h.broker!.stats(TEST_QUEUE);
    const first = json(await transactions.replayMatching(request('POST', 'transactions/replay', { query: { errorCode: 'DSEX030' } }), context()));
    expect(first).toMatchObject({ enqueued: 3, matched: 3, truncated: false });
    await transactions.replayMatching(request('POST', 'transactions/replay', { query: { errorCode: 'DSEX030' } }), context());
    const after = h.broker!.stats(TEST_QUEUE);
    expect(after.sent - before.sent).toBe(6);
    expect(after.duplicatesDropped - before.duplicatesDropped).toBe(3);
    expect(h.broker!.activeMessages(TEST_QUEUE).map((m) => m.messageId).sort()).toEqual(['denied-2:2', 'denied-3:2', 'fab-1:2']);
  });
});

describe('connectors', () => {
  it('creates and edits a connector; every edit bumps the config version; secrets are write-only', async () => {
    const params = { tenant: 'contoso', id: 'new-exchange' };
    const created = json(await connectors.put(request('PUT', 'connectors/contoso/new-exchange', { params, body: { type: 'Exchange', name: 'New', allowedToSend: true, entraTenantId: TENANT, clientId: 'c', clientSecret: SECRET } }), context()));
    expect(created).toMatchObject({ configVersion: 1, hasClientSecret: true, type: 'Exchange' });
    const edited = json(await connectors.put(request('PUT', 'connectors/contoso/new-exchange', { params, body: { type: 'Exchange', name: 'Renamed', allowedToSend: true, entraTenantId: TENANT, clientId: 'c' } }), context()));
    expect(edited).toMatchObject({ configVersion: 2, name: 'Renamed', hasClientSecret: true });
    const fetched = await connectors.get(request('GET', 'connectors/contoso/new-exchange', { params }), context());
    for (const body of [created, edited, fetched.jsonBody]) {
      expect(JSON.stringify(body)).not.toContain(SECRET);
      expect(JSON.stringify(body)).not.toContain('protected');
    }
  });

  it('refuses an invalid body with the reason', async () => {
    const params = { tenant: 'contoso', id: 'bad' };
    const response = await connectors.put(request('PUT', 'connectors/contoso/bad', { params, body: { type: 'Exchange', allowedToSend: 'yes', extra: 1 } }), context());
    expect(response.status).toBe(400);
    expect(String(json(response).error)).toMatch(/name|allowedToSend|extra/);
    const notJson = await connectors.put(new HttpRequest({ method: 'PUT', url: 'http://localhost/api/connectors/contoso/bad', params, body: { string: '{' } }), context());
    expect(notJson.status).toBe(400);
  });
});

describe('the HTML Errors page', () => {
  it('escapes every value and links each code to its explanation', async () => {
    const response = await page.page(request('GET', 'ui', { query: { code: 'k3y', since: 'all' } }), context());
    const body = String(response.body);
    expect(response.status).toBe(200);
    expect(body).not.toContain(XSS);
    expect(body).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(body).toContain('href="/api/ui/codes/DSEX011?code=k3y"');
    expect((response.headers as Record<string, string>)['content-security-policy']).toContain("default-src 'none'");
    const explain = await page.explain(request('GET', 'ui/codes/DSEX030', { params: { errorCode: 'DSEX030' } }), context());
    expect(String(explain.body)).toContain('Grant admin consent for [Your Organization].');
  });

  it('says when the retry job will not replay a row, and why', async () => {
    const stored = (await h.deps.transactions.get('contoso', 'denied-3'))!;
    const rowHtml = async () => {
      const body = String((await page.page(request('GET', 'ui', { query: { since: 'all' } }), context())).body);
      return body.match(/<tr data-transaction="denied-3">[\s\S]*?<\/tr>/)![0];
    };
    expect(await rowHtml()).not.toContain('not retried automatically');
    const etag = await h.deps.transactions.save({ ...stored.record, expired: true, givenUpReason: 'superseded' }, stored.etag);
    try {
      expect(await rowHtml()).toContain('not retried automatically: a newer version of the appointment was taken up');
    } finally {
      await h.deps.transactions.save(stored.record, etag);
    }
  });
});
