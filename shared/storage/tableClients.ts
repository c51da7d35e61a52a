import type { TableClient } from '@azure/data-tables';

// The SDKs are required when the first client is built, not when the app loads (bench/coldStart.ts).
type DataTables = typeof import('@azure/data-tables');
const dataTables = (): DataTables => require('@azure/data-tables') as DataTables;

/** @azure/data-tables' `odata` template (escapes quotes in values), without loading the SDK at start-up. */
export function odata(strings: TemplateStringsArray, ...values: unknown[]): string {
  return dataTables().odata(strings, ...values);
}

export const TABLES = {
  connectors: 'Connectors',
  transactions: 'Transactions',
  eventMappings: 'EventMappings',
  appointments: 'Appointments',
  webhookBreakers: 'WebhookBreakers',
  retryIndex: 'RetryIndex',
} as const;
export type TableName = (typeof TABLES)[keyof typeof TABLES];
type ClientOptions = NonNullable<Parameters<typeof TableClient.fromConnectionString>[2]>;

export interface TableConnection {
  connectionString?: string;
  tableServiceUri?: string;
  managedIdentityClientId?: string;
  /** per attempt; the SDK has no timeout of its own, so a hung storage call would hang the invocation */
  requestTimeoutMs?: number;
  /** extra pipeline policies, e.g. the sweep benchmark's count of entities each response carries */
  additionalPolicies?: ClientOptions['additionalPolicies'];
}

/** Hands out one client per table and creates each table once, on first use. */
export interface TableProvider {
  table(name: TableName): Promise<TableClient>;
}

export function createTableProvider(connection: TableConnection): TableProvider {
  const clients = new Map<string, Promise<TableClient>>();
  const credential =
    connection.connectionString === undefined && connection.tableServiceUri !== undefined
      ? new (require('@azure/identity') as typeof import('@azure/identity')).DefaultAzureCredential({ managedIdentityClientId: connection.managedIdentityClientId })
      : undefined;

  const timeoutMs = connection.requestTimeoutMs ?? 10_000;
  const options: ClientOptions = {
    additionalPolicies: [
      {
        position: 'perRetry',
        policy: {
          name: 'tableRequestTimeout',
          sendRequest: (request, next) => {
            request.timeout = timeoutMs;
            return next(request);
          },
        },
      },
      ...(connection.additionalPolicies ?? []),
    ],
  };

  function build(name: string): TableClient {
    const { TableClient } = dataTables();
    if (connection.connectionString) {
      return TableClient.fromConnectionString(connection.connectionString, name, {
        ...options,
        // Azurite speaks plain http on loopback; real accounts never do.
        allowInsecureConnection: /TableEndpoint=http:\/\//i.test(connection.connectionString) || /UseDevelopmentStorage=true/i.test(connection.connectionString),
      });
    }
    if (connection.tableServiceUri && credential) return new TableClient(connection.tableServiceUri, name, credential, options);
    throw new Error('No Table Storage connection: set TablesConnection (connection string) or TablesConnection__tableServiceUri.');
  }

  return {
    table(name) {
      let pending = clients.get(name);
      if (!pending) {
        const client = build(name);
        pending = client.createTable().then(() => client);
        // A failed creation (storage down) must be retried by the next caller, not cached.
        pending.catch(() => clients.delete(name));
        clients.set(name, pending);
      }
      return pending;
    },
  };
}

/** Table keys may not hold / \ # ? or control characters; ids from partners might. */
export function key(...parts: string[]): string {
  return parts.map((p) => encodeURIComponent(p).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)).join('|');
}

/** Reads an entity, or undefined when it does not exist; every other failure propagates. */
export async function getOrUndefined<T extends object>(
  client: TableClient,
  partitionKey: string,
  rowKey: string,
  options: { abortSignal?: AbortSignal } = {},
): Promise<(T & { etag: string; partitionKey: string; rowKey: string }) | undefined> {
  try {
    return (await client.getEntity<T>(partitionKey, rowKey, options)) as T & { etag: string; partitionKey: string; rowKey: string };
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw error;
  }
}
