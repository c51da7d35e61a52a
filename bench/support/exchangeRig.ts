import type { TableClient } from '@azure/data-tables';
import { createTableProvider, type TableName, type TableProvider } from '../../shared/storage/tableClients';
import { startExchangeHarness, type ExchangeHarness } from '../../test/support/exchangeHarness';
import { prepareBenchProcess } from './measure';

/**
 * Azurite + the Entra/Graph simulator + the App Insights sink, with the real handler built by the
 * real composition root (test/support/syncHarness), and one Exchange connector seeded.
 */
export const BENCH_TENANT_GUID = '72f988bf-86f1-41af-91ab-2d7cd011db47';
export const BENCH_CLIENT_ID = '11111111-2222-3333-4444-555555555555';
export const BENCH_SECRET = 'Qx8~bench-client-secret-value';
export const BENCH_TENANT = 'contoso';
export const BENCH_CONNECTOR = 'exchange-main';

export async function startExchangeRig(options: { mailboxes: string[]; settings?: Record<string, string> }): Promise<ExchangeHarness> {
  prepareBenchProcess();
  const h = await startExchangeHarness({ GRAPH_REQUEST_TIMEOUT_MS: '10000', ...options.settings });
  h.sim.addTenant({ tenantId: BENCH_TENANT_GUID, domains: ['contoso.onmicrosoft.com'] });
  h.sim.addApp({ tenantId: BENCH_TENANT_GUID, clientId: BENCH_CLIENT_ID, clientSecret: BENCH_SECRET });
  for (const mailbox of options.mailboxes) h.sim.addMailbox(mailbox, { tenantId: BENCH_TENANT_GUID });
  await h.seedConnector({ tenantId: BENCH_TENANT, connectorId: BENCH_CONNECTOR, entraTenantId: BENCH_TENANT_GUID, clientId: BENCH_CLIENT_ID, clientSecret: BENCH_SECRET });
  return h;
}

export interface TableCall {
  table: string;
  method: string;
  start: number;
  end: number;
}

const COUNTED = new Set(['getEntity', 'createEntity', 'updateEntity', 'upsertEntity', 'deleteEntity', 'submitTransaction']);

/**
 * The app's own table provider, with every single-entity call recorded (table, method, start, end):
 * how many storage round-trips a message costs and which of them overlap.
 */
export function recordingTableProvider(connectionString: string): { provider: TableProvider; calls: TableCall[] } {
  const inner = createTableProvider({ connectionString });
  const calls: TableCall[] = [];
  const wrapped = new Map<string, Promise<TableClient>>();
  const provider: TableProvider = {
    table(name: TableName) {
      let pending = wrapped.get(name);
      if (!pending) {
        pending = inner.table(name).then(
          (client) =>
            new Proxy(client, {
              get(target, prop, receiver) {
                const value = Reflect.get(target, prop, receiver) as unknown;
                if (typeof prop !== 'string' || !COUNTED.has(prop) || typeof value !== 'function') return value;
                return async (...args: unknown[]) => {
                  const call: TableCall = { table: name, method: prop, start: performance.now(), end: 0 };
                  calls.push(call);
                  try {
                    return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
                  } finally {
                    call.end = performance.now();
                  }
                };
              },
            }),
        );
        wrapped.set(name, pending);
      }
      return pending;
    },
  };
  return { provider, calls };
}
