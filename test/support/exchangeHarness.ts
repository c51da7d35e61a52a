import { startEntraGraphSimulator, type EntraGraphSimulator } from '../../dev/simulators/entraGraph';
import { startSyncHarness, type SyncHarness } from './syncHarness';

export { appointmentMessage, TEST_PROTECTION_KEY, TEST_QUEUE, type LogLine, type MessageOptions } from './syncHarness';

/** Azurite + Entra/Graph simulator + App Insights sink, and the real handler wired to them. */
export type ExchangeHarness = SyncHarness<EntraGraphSimulator>;

export function startExchangeHarness(settings: Record<string, string> = {}, options: { serviceBus?: boolean } = {}): Promise<ExchangeHarness> {
  return startSyncHarness({
    simulator: startEntraGraphSimulator(),
    connectorType: 'Exchange',
    serviceBus: options.serviceBus,
    settings: (sim) => ({ GRAPH_BASE_URL: sim.url, ENTRA_AUTHORITY_HOST: sim.url, GRAPH_REQUEST_TIMEOUT_MS: '1500', ...settings }),
  });
}

/** The one Entra tenant, app, mailbox and connector that a test of a single healthy Exchange connector needs. */
export const CONTOSO = {
  entraTenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
  clientId: '11111111-2222-3333-4444-555555555555',
  clientSecret: 'Qx8~good-client-secret-value',
  mailbox: 'jane@contoso.com',
  tenantId: 'contoso',
  connectorId: 'exchange-main',
} as const;

/** An Exchange harness with CONTOSO's tenant, app, mailbox and connector in place. */
export async function startContosoHarness(settings: Record<string, string> = {}, options: { serviceBus?: boolean } = {}): Promise<ExchangeHarness> {
  const h = await startExchangeHarness(settings, options);
  const { entraTenantId, clientId, clientSecret, mailbox, tenantId, connectorId } = CONTOSO;
  h.sim.addTenant({ tenantId: entraTenantId, domains: ['contoso.onmicrosoft.com'] });
  h.sim.addApp({ tenantId: entraTenantId, clientId, clientSecret });
  h.sim.addMailbox(mailbox, { tenantId: entraTenantId });
  await h.seedConnector({ tenantId, connectorId, entraTenantId, clientId, clientSecret });
  return h;
}
