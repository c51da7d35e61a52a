// The list of app settings and their defaults, without the validation schema (shared/config/settings
// builds it with zod and re-exports everything here). The function files need a default when they
// register (`bindingExpression`) and the host loads them before any invocation, so this file loads
// nothing (cold start, docs/performance.md).

/**
 * Every app setting the code reads, in one place: the README configuration table, the
 * local.settings.sample.json and the Bicep app settings are checked against this list.
 * Connection settings follow the Functions convention: `<Name>` holds a connection string, or
 * `<Name>__fullyQualifiedNamespace` / `<Name>__tableServiceUri` an identity-based endpoint.
 */
export interface SettingSpec {
  name: string;
  description: string;
  /** value used when the setting is absent; undefined = optional with no default */
  default?: string;
  /** a sample for local.settings.sample.json (defaults to `default`) */
  sample?: string;
}

export const SETTINGS: readonly SettingSpec[] = [
  {
    name: 'APPOINTMENTS_QUEUE',
    description: 'Service Bus queue the scheduling platform sends appointment messages to.',
    default: 'appointments',
  },
  {
    name: 'ServiceBusConnection',
    description: 'Service Bus connection string (local development). In Azure leave it unset and use ServiceBusConnection__fullyQualifiedNamespace.',
    sample: 'Endpoint=sb://127.0.0.1:5672;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true',
  },
  {
    name: 'ServiceBusConnection__fullyQualifiedNamespace',
    description: 'Service Bus namespace host (identity-based connection), e.g. my-namespace.servicebus.windows.net.',
    sample: '',
  },
  {
    name: 'TablesConnection',
    description: 'Table Storage connection string (local development, Azurite). In Azure leave it unset and use TablesConnection__tableServiceUri.',
    sample: 'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;',
  },
  {
    name: 'TablesConnection__tableServiceUri',
    description: 'Table service endpoint (identity-based connection), e.g. https://myaccount.table.core.windows.net.',
    sample: '',
  },
  {
    name: 'STORAGE_REQUEST_TIMEOUT_MS',
    description: 'Timeout of one Table Storage request attempt, in milliseconds (DSDB004 when it expires).',
    default: '10000',
  },
  {
    name: 'AZURE_CLIENT_ID',
    description: 'Client id of the user-assigned managed identity used for Storage and Service Bus (unset: system-assigned or developer credentials).',
    sample: '',
  },
  {
    name: 'APPLICATIONINSIGHTS_CONNECTION_STRING',
    description: 'Application Insights connection string. Unset: telemetry is off (logs still carry errorCode=<CODE>).',
    sample: '',
  },
  {
    name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
    description: 'Authorization=AAD;ClientId=<managed identity client id> when Application Insights has local auth disabled (as infra/ deploys it): telemetry is sent with an Entra token. Unset: connection string only.',
    sample: '',
  },
  {
    name: 'SECRET_PROTECTION_KEY',
    description: 'Base64 of 32 random bytes that encrypt connector secrets at rest in the Connectors table (in Azure: a Key Vault reference).',
    sample: 'ZGV2LW9ubHkta2V5LWRvLW5vdC11c2UtaW4tYXp1cmU=',
  },
  {
    name: 'ENTRA_AUTHORITY_HOST',
    description: 'Microsoft Entra ID authority host used for connector tokens (national clouds, or the local simulator).',
    default: 'https://login.microsoftonline.com',
  },
  {
    name: 'GRAPH_BASE_URL',
    description: 'Microsoft Graph root (national clouds, or the local simulator).',
    default: 'https://graph.microsoft.com',
  },
  {
    name: 'GRAPH_MAX_CONCURRENCY_PER_MAILBOX',
    description: 'Most concurrent Graph requests per mailbox from one instance (Outlook allows 4).',
    default: '4',
  },
  {
    name: 'GRAPH_REQUEST_TIMEOUT_MS',
    description: 'Timeout of one Graph or token request attempt, in milliseconds.',
    default: '30000',
  },
  {
    name: 'WEBHOOK_TIMEOUT_MS',
    description: "Timeout of one webhook POST attempt, in milliseconds (DSWBHK010 when it expires); a connector's own timeout wins.",
    default: '10000',
  },
  {
    name: 'WEBHOOK_MAX_ATTEMPTS',
    description: 'Attempts of one webhook delivery within an invocation (429, 5xx and connection failures are retried with exponential backoff and jitter).',
    default: '3',
  },
  {
    name: 'WEBHOOK_RETRY_BASE_DELAY_MS',
    description: "First backoff delay between webhook attempts, in milliseconds; a partner's Retry-After wins.",
    default: '500',
  },
  {
    name: 'WEBHOOK_DELIVERY_BUDGET_MS',
    description: 'Most time one webhook delivery may take, waits included; a retry (or a Retry-After) that does not fit is left to the retry job.',
    default: '60000',
  },
  {
    name: 'WEBHOOK_BREAKER_FAILURE_THRESHOLD',
    description: 'Webhook deliveries in a row that fail for availability reasons (timeouts, exhausted retries) before the per-connector circuit breaker opens.',
    default: '5',
  },
  {
    name: 'WEBHOOK_BREAKER_BREAK_MS',
    description: 'How long an open webhook circuit breaker short-circuits deliveries (DSWBHK030) before one probe is let through, in milliseconds.',
    default: '60000',
  },
  {
    name: 'RETRY_SWEEP_SCHEDULE',
    description: 'NCRONTAB schedule of the retry sweep (six fields, seconds first, UTC).',
    default: '0 */5 * * * *',
  },
  {
    name: 'RETRY_SWEEP_MAX_ROWS',
    description: 'Most index entries one retry sweep pass looks at; the rest wait for the next pass.',
    default: '1000',
  },
  {
    name: 'RETRY_SWEEP_MAX_SECONDS',
    description: 'Time budget of one retry sweep pass, in seconds (keep it below the schedule interval).',
    default: '120',
  },
  {
    name: 'RETRY_SWEEP_LEASE_MINUTES',
    description: 'How long a row the sweep enqueued waits for its replay before the sweep may send it again.',
    default: '30',
  },
];

/**
 * A trigger setting as the Functions host should see it: the `%NAME%` binding expression when the app
 * setting exists, else its default — an unresolvable expression would disable the function at start-up.
 */
export function bindingExpression(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (value !== undefined && value !== '') return `%${name}%`;
  const fallback = SETTINGS.find((s) => s.name === name)?.default;
  if (fallback === undefined) throw new Error(`${name} has no default: set it in the app settings.`);
  return fallback;
}
