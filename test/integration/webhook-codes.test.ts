import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { customDimensions } from '../../dev/simulators/appInsightsSink';
import { partnerResponses as respond, startPartnerSimulator } from '../../dev/simulators/partner';
import { untrustedTlsOptions } from '../../dev/simulators/partnerTls';
import { createSecretProtector } from '../../shared/storage/secretProtector';
import type { ConnectorInput } from '../../shared/storage/connectors';
import type { TransactionRecord } from '../../shared/storage/transactions';
import { SecretScanner, type Needle } from '../reliability/secretScan';
import { closedPort } from '../support/closedPort';
import { expectDiagnosed } from '../support/expectDiagnosed';
import type { MessageOptions } from '../support/syncHarness';
import { PARTNER_SECRET, startWebhookHarness, webhookMessage, type WebhookHarness } from '../support/webhookHarness';

/**
 * Every DSWBHK code (and the shared-layer codes a webhook connector can hit) through the real handler:
 * the real fetch and cockatiel against the partner simulator on HTTPS loopback, Azurite for every table
 * (the circuit breaker's too), the real App Insights exporter to the sink. Each case has a connector of
 * its own, so no breaker is shared between cases.
 */
let h: WebhookHarness;
let seq = 0;

/** A fresh Webhook connector; returns its id and the simulator path it posts to. */
async function connector(overrides: Partial<ConnectorInput> = {}): Promise<{ connectorId: string; path: string }> {
  seq += 1;
  const connectorId = `partner-${seq}`;
  return { connectorId, path: await h.seedWebhook(connectorId, overrides) };
}

async function send(options: MessageOptions) {
  seq += 1;
  const messageId = `wm-${seq}`;
  await h.deliver(webhookMessage({ appointmentId: `APT-W${seq}`, ...options }), { messageId });
  const row = await h.row(options.tenantId ?? 'contoso', messageId);
  expect(row, `row for ${messageId}`).toBeDefined();
  return row!;
}

/** The retry class each code promises (../shared/spec/webhook-errors.txt and the DESIGN's cross-cutting codes). */
const RETRY_CLASS: Record<string, string> = {
  DSWBHK001: 'fix-config',
  DSWBHK002: 'fix-config',
  DSWBHK003: 'fix-config',
  DSWBHK010: 'retried',
  DSWBHK020: 'retried',
  DSCFG001: 'fix-config',
  DSCFG002: 'fix-config',
  DSCFG003: 'fix-config',
  DSCFG005: 'fix-config',
  DSCFG006: 'fix-config',
  DSCFG008: 'fix-config',
  DSHTTP001: 'retried',
};

/** The row (`[CODE] text`, Status, retry class), the log line and the telemetry's errorCode. */
async function expectFailure(row: TransactionRecord, code: string, status: string): Promise<void> {
  await expectDiagnosed(h, row, code, status);
  expect(row.retryClass).toBe(RETRY_CLASS[code]);
}

beforeAll(async () => {
  h = await startWebhookHarness();
});

afterAll(async () => {
  await h?.close();
});

// The enforcing simulator checks every delivery; a bad signature would surface as DSCFG008 anyway.
let checked = 0;
afterEach(() => {
  const fresh = h.sim.deliveries().slice(checked);
  checked += fresh.length;
  expect(fresh.filter((d) => !d.signatureValid && !d.path.startsWith('/forged'))).toEqual([]);
});

describe('a delivery the partner accepts', () => {
  it('records Succeeded with the status and webhook-id, and tracks AppointmentSynced', async () => {
    const { connectorId, path } = await connector();
    h.sim.queue(respond.ok(202), path);
    const row = await send({ connectorId });
    const [delivery] = h.sim.deliveries(path);
    expect(row).toMatchObject({ status: 'Succeeded', attempts: 1, connectorType: 'Webhook', message: `Webhook create: delivered (HTTP 202, webhook-id ${delivery!.headers['webhook-id']}).` });
    expect(delivery).toMatchObject({ method: 'POST', signatureValid: true });
    // A success does not wait for its event to be sent (the exporter's batch does): flush it here.
    await h.deps.telemetry.flush();
    const [synced] = await h.sink.waitFor((e) => e.data?.baseData?.name === 'AppointmentSynced' && customDimensions(e).transactionId === row.transactionId);
    expect(customDimensions(synced!)).toMatchObject({ connectorId, connectorType: 'Webhook', tenantId: 'contoso' });
  });
});

describe('checks before any call', () => {
  it('DSWBHK001 when the connector may not send (the message names the Webhook type)', async () => {
    const { connectorId, path } = await connector({ allowedToSend: false });
    const row = await send({ connectorId });
    await expectFailure(row, 'DSWBHK001', 'BackOfficeNotAllowed');
    expect(row.message).toBe('[DSWBHK001] The connector is not allowed to send appointments to a web service.');
    expect(h.sim.deliveries(path)).toHaveLength(0);
  });

  it('DSCFG001, its shared twin, when the message does not say which connector type it is for', async () => {
    const { connectorId, path } = await connector({ allowedToSend: false });
    seq += 1;
    const { connectorType: _omitted, ...untyped } = webhookMessage({ connectorId, appointmentId: `APT-W${seq}` }) as Record<string, unknown>;
    await h.deliver(untyped, { messageId: `wm-${seq}` });
    await expectFailure((await h.row('contoso', `wm-${seq}`))!, 'DSCFG001', 'BackOfficeNotAllowed');
    expect(h.sim.deliveries(path)).toHaveLength(0);
  });

  it('DSCFG003 when the connector the message names does not exist', async () => {
    const row = await send({ connectorId: 'never-created' });
    await expectFailure(row, 'DSCFG003', 'EmptyBackOffice');
    expect(row.message).toContain('never-created');
  });

  it('DSCFG005 when neither the message nor the stored type says Webhook (the shared layer cannot tell whose it is)', async () => {
    const { connectorId, path } = await connector({ type: 'Legacy.BcConnector, Internal.Types' });
    seq += 1;
    const { connectorType: _omitted, ...untyped } = webhookMessage({ connectorId, appointmentId: `APT-W${seq}` }) as Record<string, unknown>;
    await h.deliver(untyped, { messageId: `wm-${seq}` });
    await expectFailure((await h.row('contoso', `wm-${seq}`))!, 'DSCFG005', 'InvalidBackOfficeType');
    expect(h.sim.deliveries(path)).toHaveLength(0);
  });

  it.each([
    ['empty', '', "[DSWBHK002] The webhookUrl '' is empty."],
    ['malformed', 'partner.example.com/hooks', "[DSWBHK002] The webhookUrl 'partner.example.com/hooks' is not a valid URL."],
    ['not https', 'http://127.0.0.1:9/hooks', "[DSWBHK002] The webhookUrl 'http://127.0.0.1:9/hooks' is not an https URL."],
  ])('DSWBHK002 for an %s URL', async (_label, webhookUrl, message) => {
    const { connectorId } = await connector({ webhookUrl });
    const row = await send({ connectorId });
    await expectFailure(row, 'DSWBHK002', 'WrongUrl');
    expect(row.message).toBe(message);
    expect(row.retryClass).toBe('fix-config');
  });

  it('DSWBHK002 for an address carrying credentials and a token: the row, log line and telemetry show neither', async () => {
    const [password, token] = ['Pa55-w0rd-in-url', 'T0ken-in-query-42'];
    const { connectorId } = await connector({ webhookUrl: `https//partner:${password}@hooks.partner.example/in?access=${token}` });
    const row = await send({ connectorId });
    await expectFailure(row, 'DSWBHK002', 'WrongUrl');
    expect(row.message).toBe("[DSWBHK002] The webhookUrl 'https//***@hooks.partner.example/in?access=***' is not a valid URL.");
    await h.deps.telemetry.flush();
    const texts = [JSON.stringify(row), JSON.stringify(h.logs.filter((l) => l.text.includes(row.transactionId))), JSON.stringify(h.sink.withProperties({ transactionId: row.transactionId }))];
    expect(texts.map((t) => t.includes('hooks.partner.example/in'))).toEqual([true, true, true]); // the scan reaches the address
    for (const text of texts) expect(text).not.toMatch(new RegExp(`${password}|${token}`));
  });

  it('DSWBHK002 for a port fetch refuses to connect to, found at the first call', async () => {
    const { connectorId } = await connector({ webhookUrl: 'https://127.0.0.1:6000/hooks' });
    const row = await send({ connectorId });
    await expectFailure(row, 'DSWBHK002', 'WrongUrl');
    expect(row.message).toBe("[DSWBHK002] The webhookUrl 'https://127.0.0.1:6000/hooks' is on port 6000, which HTTP clients refuse to connect to.");
  });

  it('DSWBHK003 when the stored type is not Webhook, without the raw type name', async () => {
    const legacy = await connector({ type: 'Legacy.BcConnector, Internal.Types' });
    const row = await send({ connectorId: legacy.connectorId });
    await expectFailure(row, 'DSWBHK003', 'InvalidBackOfficeType');
    expect(row.message).toBe('[DSWBHK003] The connector type cannot be cast to Webhook.');
    const exchange = await connector({ type: 'Exchange' });
    await expectFailure(await send({ connectorId: exchange.connectorId }), 'DSWBHK003', 'InvalidBackOfficeType');
  });

  it('DSCFG002 without a signing secret, DSCFG006 for one that does not decrypt or is not a whsec_ key', async () => {
    const unsigned = await connector({ signingSecret: undefined });
    const missing = await send({ connectorId: unsigned.connectorId });
    await expectFailure(missing, 'DSCFG002', 'InvalidBackOfficeSettings');
    expect(missing.message).toBe('[DSCFG002] The connector configuration has no signing secret.');

    const rotated = await connector();
    const client = await h.deps.tables.table('Connectors');
    const otherKey = createSecretProtector(Buffer.alloc(32, 9));
    await client.updateEntity({ partitionKey: 'contoso', rowKey: rotated.connectorId, protectedSigningSecret: otherKey.protect(PARTNER_SECRET) }, 'Merge');
    await expectFailure(await send({ connectorId: rotated.connectorId }), 'DSCFG006', 'InvalidBackOfficeSettings');

    const notAKey = await connector({ signingSecret: 'hunter2-is-not-a-key' });
    const row = await send({ connectorId: notAKey.connectorId });
    await expectFailure(row, 'DSCFG006', 'InvalidBackOfficeSettings');
    expect(row.message).not.toContain('hunter2');
    expect(h.sim.deliveries(unsigned.path).length + h.sim.deliveries(rotated.path).length + h.sim.deliveries(notAKey.path).length).toBe(0);
  });
});

describe('failures at the partner', () => {
  it('DSWBHK010 when the partner does not answer within the timeout: one attempt, not retried in the invocation', async () => {
    const { connectorId, path } = await connector();
    h.sim.queue(respond.hang(), path);
    const row = await send({ connectorId });
    await expectFailure(row, 'DSWBHK010', 'Failed');
    expect(row.message).toBe('[DSWBHK010] The partner endpoint did not respond within 400 ms.');
    expect(row.retryClass).toBe('retried');
    expect(h.sim.deliveries(path)).toHaveLength(1);
  });

  it("DSWBHK010 names the connector's own timeout", async () => {
    const { connectorId, path } = await connector({ timeoutMs: 150 });
    h.sim.queue(respond.slow(2_000), path);
    const row = await send({ connectorId });
    expect(row.message).toBe('[DSWBHK010] The partner endpoint did not respond within 150 ms.');
  });

  it('DSWBHK020 after the transient retries are exhausted, with the raw status and message', async () => {
    const { connectorId, path } = await connector();
    h.sim.queue([503, 500, 502].map((status) => respond.status(status, 'upstream down')), path);
    const row = await send({ connectorId });
    await expectFailure(row, 'DSWBHK020', 'Failed');
    expect(row.message).toBe('[DSWBHK020] Status code: 502. Bad Gateway: upstream down (after 3 attempts)');
    expect(h.sim.deliveries(path)).toHaveLength(3);
    expect(Date.parse(row.nextAttemptAt!)).toBeGreaterThan(Date.parse(row.lastAttemptAt));
  });

  it('DSWBHK020 at once for a permanent 4xx, with the body snippet', async () => {
    const { connectorId, path } = await connector();
    h.sim.queue(respond.status(422, { error: 'start is required' }), path);
    const row = await send({ connectorId });
    await expectFailure(row, 'DSWBHK020', 'Failed');
    expect(row.message).toBe('[DSWBHK020] Status code: 422. Unprocessable Entity: {"error":"start is required"}');
    expect(h.sim.deliveries(path)).toHaveLength(1);
  });

  it('DSWBHK020 for a redirect, which is not followed', async () => {
    const { connectorId, path } = await connector();
    h.sim.queue(respond.redirect(`${h.sim.url}/moved?token=abc`, 307), path);
    const row = await send({ connectorId });
    await expectFailure(row, 'DSWBHK020', 'Failed');
    expect(row.message).toBe(`[DSWBHK020] Status code: 307. Temporary Redirect: redirects are not followed (Location: ${h.sim.url}/moved?token=***)`);
    expect(h.sim.deliveries('/moved')).toHaveLength(0);
  });

  it('DSWBHK020 for a 429 whose Retry-After is beyond the budget: no wait in the invocation, the row waits instead', async () => {
    const { connectorId, path } = await connector();
    h.sim.queue(respond.throttle(3_600), path);
    const row = await send({ connectorId });
    await expectFailure(row, 'DSWBHK020', 'Failed');
    expect(row.message).toMatch(/^\[DSWBHK020\] Status code: 429\. Too Many Requests/);
    expect(h.sim.deliveries(path)).toHaveLength(1);
    expect(Date.parse(row.nextAttemptAt!) - Date.parse(row.lastAttemptAt)).toBeGreaterThanOrEqual(3_600_000);
  });

  it.each([401, 403])('DSCFG008 for HTTP %i: credentials are a configuration problem, not retried', async (status) => {
    const { connectorId, path } = await connector();
    h.sim.queue(respond.status(status, { error: 'not for you' }), path);
    const row = await send({ connectorId });
    await expectFailure(row, 'DSCFG008', 'InvalidBackOfficeSettings');
    expect(row.message).toBe(`[DSCFG008] The back office rejected the request as unauthorized: Status code: ${status}.`);
    expect(h.sim.deliveries(path)).toHaveLength(1);
  });

  it('DSCFG008 when the partner rejects our signature (a signing secret that is not the agreed one)', async () => {
    const { connectorId } = await connector({ webhookUrl: `${h.sim.url}/forged`, signingSecret: `whsec_${Buffer.alloc(32, 1).toString('base64')}` });
    const row = await send({ connectorId });
    await expectFailure(row, 'DSCFG008', 'InvalidBackOfficeSettings');
    expect(h.sim.deliveries('/forged')).toMatchObject([{ signatureValid: false, signatureProblem: 'mismatch' }]);
  });

  it('DSHTTP001 when the connection fails without any HTTP answer, after the retries', async () => {
    const { connectorId, path } = await connector();
    h.sim.queue([respond.reset(), respond.reset(), respond.close()], path);
    const row = await send({ connectorId });
    await expectFailure(row, 'DSHTTP001', 'Failed');
    expect(row.message).toBe('[DSHTTP001] HTTP transient: the partner endpoint gave no HTTP answer (UND_ERR_SOCKET: other side closed), after 3 attempts.');
    expect(h.sim.deliveries(path)).toHaveLength(3);
  });

  it('DSWBHK020 when the partner certificate does not validate: the TLS code on the row, one attempt, not retried in the invocation', async () => {
    const untrusted = await startPartnerSimulator({ tls: untrustedTlsOptions() });
    try {
      const { connectorId } = await connector({ webhookUrl: `${untrusted.url}/hooks/self-signed` });
      const row = await send({ connectorId });
      await expectFailure(row, 'DSWBHK020', 'Failed');
      expect(row.message).toBe(
        '[DSWBHK020] The TLS connection to the partner endpoint failed: DEPTH_ZERO_SELF_SIGNED_CERT (self-signed certificate). The partner must fix its certificate or TLS setup; the request was not sent.',
      );
      expect(untrusted.connections()).toBe(1);
      expect(untrusted.deliveries()).toHaveLength(0);
      expect(Date.parse(row.nextAttemptAt!)).toBeGreaterThan(Date.parse(row.lastAttemptAt)); // the retry job replays it
    } finally {
      await untrusted.close();
    }
  });

  it('DSHTTP001 when nothing listens at the address', async () => {
    const { connectorId } = await connector({ webhookUrl: `https://127.0.0.1:${await closedPort()}/hooks` });
    const row = await send({ connectorId });
    await expectFailure(row, 'DSHTTP001', 'Failed');
    expect(row.message).toBe('[DSHTTP001] HTTP transient: the partner endpoint gave no HTTP answer (ECONNREFUSED), after 3 attempts.');
  });
});

describe('secret hygiene', () => {
  const needles: Needle[] = [{ label: 'partner signing secret', value: PARTNER_SECRET }];

  /** Every row, log line and telemetry item this file produced, scanned for every form of the secret. */
  async function scanAll(): Promise<SecretScanner> {
    const scanner = new SecretScanner(needles);
    for (const row of await h.rows()) scanner.scan('row', row.transactionId, row);
    for (const [i, line] of h.logs.entries()) scanner.scan('log', `line ${i}`, line);
    for (const [i, envelope] of h.sink.envelopes().entries()) scanner.scan('telemetry', `envelope ${i}`, envelope);
    return scanner;
  }

  it('no row, log line or telemetry item carries the signing secret', async () => {
    await h.deps.telemetry.flush();
    const { report } = await scanAll();
    expect(report.hits).toEqual([]);
    expect(report.items.row!).toBeGreaterThan(20);
    expect(report.items.log!).toBeGreaterThan(20);
    expect(report.items.telemetry!).toBeGreaterThan(20);
  });

  // Positive control: the same collection and scan find the secret once it is planted where a leak
  // would put it (a failed row's message, a log line, a telemetry property), each in another form.
  it('the same scan finds the secret when it is there', async () => {
    const [row] = (await h.rows()).filter((r) => r.status === 'Failed');
    await h.deps.transactions.save({ ...row!, transactionId: 'scan-control', message: `[DSUNK001] leaked ${PARTNER_SECRET}` }, undefined);
    h.logs.push({ level: 'error', text: `signing key ${PARTNER_SECRET.slice('whsec_'.length)}` });
    h.deps.telemetry.trackEvent('ScanControl', { note: `secret=${encodeURIComponent(PARTNER_SECRET)}` });
    await h.deps.telemetry.flush();
    await h.sink.waitFor((e) => e.data?.baseData?.name === 'ScanControl');

    const found = (await scanAll()).report.hits.map((hit) => `${hit.source} ${hit.where.startsWith('envelope') ? 'envelope' : hit.where.startsWith('line') ? 'line' : hit.where} ${hit.form}`);
    expect(found).toEqual(expect.arrayContaining(['row scan-control verbatim', 'log line key-without-prefix', 'telemetry envelope url-encoded']));
  });
});
