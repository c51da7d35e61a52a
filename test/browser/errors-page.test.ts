import { ServiceBusClient } from '@azure/service-bus';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzuriteTables, type AzuriteTables } from '../../dev/azurite';
import { startServiceBusBroker, type ServiceBusBroker } from '../../dev/serviceBus/broker';
import { startEntraGraphSimulator, type EntraGraphSimulator } from '../../dev/simulators/entraGraph';
import { ConnectorStore } from '../../shared/storage/connectors';
import { createSecretProtector } from '../../shared/storage/secretProtector';
import { createTableProvider } from '../../shared/storage/tableClients';
import { TransactionStore } from '../../shared/storage/transactions';
import { appointmentMessage, TEST_PROTECTION_KEY, TEST_QUEUE } from '../support/exchangeHarness';
import { startHostProcess, type HostProcess } from '../support/localHostProcess';

/**
 * An operator's morning, in Debian's Chromium: open the Errors page served by the local Functions
 * host, filter by a code, open its explanation, fix the cause, replay a row and see it succeed.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = resolve(__dirname, '../../test-artifacts');
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const KEY = 'browser-test-key';

let azurite: AzuriteTables;
let sim: EntraGraphSimulator;
let broker: ServiceBusBroker;
let host: HostProcess;
let browser: Browser;
let transactions: TransactionStore;

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 45_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  [azurite, sim, broker] = await Promise.all([
    startAzuriteTables({ inMemory: true }),
    startEntraGraphSimulator(),
    startServiceBusBroker({ queues: [{ name: TEST_QUEUE, maxDeliveryCount: 10, duplicateDetectionWindowMs: 600_000 }] }),
  ]);
  sim.addTenant({ tenantId: TENANT });
  sim.addApp({ tenantId: TENANT, clientId: 'ops-app', clientSecret: 'ops-secret-value', graphPermission: false });
  sim.addMailbox('jane@contoso.com', { tenantId: TENANT });
  const tables = createTableProvider({ connectionString: azurite.connectionString });
  transactions = new TransactionStore(tables);
  await new ConnectorStore(tables, createSecretProtector(Buffer.from(TEST_PROTECTION_KEY, 'base64'))).save({
    tenantId: 'contoso', connectorId: 'exchange-main', type: 'Exchange', name: 'Main', allowedToSend: true, entraTenantId: TENANT, clientId: 'ops-app', clientSecret: 'ops-secret-value',
  });

  host = await startHostProcess({
    TablesConnection: azurite.connectionString,
    ServiceBusConnection: broker.connectionString,
    APPOINTMENTS_QUEUE: TEST_QUEUE,
    GRAPH_BASE_URL: sim.url,
    ENTRA_AUTHORITY_HOST: sim.url,
    SECRET_PROTECTION_KEY: TEST_PROTECTION_KEY,
    GRAPH_REQUEST_TIMEOUT_MS: '2000',
    LOCAL_HOST_PORT: '0',
    LOCAL_FUNCTION_KEY: KEY,
    APPLICATIONINSIGHTS_CONNECTION_STRING: '',
  });

  // Three appointments arrive while the app registration lacks consent: DSEX030 rows. One is a DSEX011.
  const client = new ServiceBusClient(broker.connectionString);
  const sender = client.createSender(TEST_QUEUE);
  await sender.sendMessages([
    { body: appointmentMessage({ appointmentId: 'A-1' }), messageId: 'browser-1' },
    { body: appointmentMessage({ appointmentId: 'A-2' }), messageId: 'browser-2' },
    { body: appointmentMessage({ appointmentId: 'A-3' }), messageId: 'browser-3' },
    { body: appointmentMessage({ appointmentId: 'A-4', resources: [{ number: 'R9', name: 'Van <9>', exchangeEnabled: false }] }), messageId: 'browser-4' },
  ]);
  await client.close();
  await until('four rows', async () => ((await transactions.page(undefined, 10)).records.length === 4 ? true : undefined)).catch((error: unknown) => {
    throw new Error(`${String(error)}\n${host.output()}`);
  });

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await host?.stop();
  await Promise.allSettled([azurite?.close(), sim?.close(), broker?.close()]);
});

describe('the Errors page in a real browser', () => {
  it('filters by code, explains it, replays a row and shows it succeed', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(`${host.url}/api/ui?code=${KEY}&since=all`);
    await expect.poll(() => page.locator('#transactions tbody tr').count()).toBe(4);
    expect(await page.locator('#groups tr[data-code="DSEX030"] td').nth(4).textContent()).toBe('3');
    expect(await page.locator('#transactions').textContent()).toContain('Van <9>'); // shown as text, not markup

    await page.selectOption('#filter-code', 'DSEX030');
    await page.click('#apply-filters');
    await page.waitForURL(/errorCode=DSEX030/);
    const codes = await page.locator('#transactions tbody tr a.code').allTextContents();
    expect(codes).toEqual(['DSEX030', 'DSEX030', 'DSEX030']);

    await page.locator('#transactions tbody tr a.code').first().click();
    await expect.poll(() => page.locator('#explanation h2').first().textContent()).toBe('DSEX030 — Access denied by the Azure AD app');
    expect(await page.locator('#explanation').textContent()).toContain('Grant admin consent for [Your Organization].');
    await page.goBack();

    sim.updateApp(TENANT, 'ops-app', { graphPermission: true }); // the operator grants consent in Azure
    const row = page.locator('#transactions tbody tr[data-transaction="browser-2"]');
    await row.locator('button', { hasText: 'Replay' }).click();
    await expect.poll(() => page.locator('#notice').textContent()).toBe('Replay queued for transaction browser-2.');

    await until('the replay to succeed', async () => ((await transactions.get('contoso', 'browser-2'))?.record.status === 'Succeeded' ? true : undefined));
    await page.goto(`${host.url}/api/ui?code=${KEY}&since=all&status=Succeeded`);
    const succeeded = page.locator('#transactions tbody tr[data-transaction="browser-2"]');
    await expect.poll(() => succeeded.locator('.status').textContent()).toBe('Succeeded');
    expect(await succeeded.locator('td').nth(6).textContent()).toBe('Website');

    await page.goto(`${host.url}/api/ui?code=${KEY}&since=all`);
    await expect.poll(() => page.locator('#transactions tbody tr').count()).toBe(3);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: resolve(ARTIFACTS, 'errors-page.png'), fullPage: true });
  });

  it('refuses the page and the API without the function key', async () => {
    for (const path of ['/api/ui', '/api/transactions', '/api/errors/DSEX030']) {
      const response = await fetch(`${host.url}${path}`);
      expect(response.status, path).toBe(401);
    }
    expect((await fetch(`${host.url}/api/transactions?code=${KEY}`)).status).toBe(200);
  });
});
