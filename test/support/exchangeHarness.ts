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
