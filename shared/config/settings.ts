import { z } from 'zod';

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
];

const positiveInt = (name: string) =>
  z.coerce
    .number({ error: `${name} must be a whole number` })
    .int(`${name} must be a whole number`)
    .positive(`${name} must be greater than 0`);

const httpsUrl = (name: string) =>
  z.url({ protocol: /^https$/, error: `${name} must be an https:// URL` });

const schema = z.object({
  APPOINTMENTS_QUEUE: z.string().min(1),
  ServiceBusConnection: z.string().optional(),
  ServiceBusConnection__fullyQualifiedNamespace: z.string().optional(),
  TablesConnection: z.string().optional(),
  TablesConnection__tableServiceUri: z.string().optional(),
  STORAGE_REQUEST_TIMEOUT_MS: positiveInt('STORAGE_REQUEST_TIMEOUT_MS'),
  AZURE_CLIENT_ID: z.string().optional(),
  APPLICATIONINSIGHTS_CONNECTION_STRING: z.string().optional(),
  SECRET_PROTECTION_KEY: z.string().optional(),
  ENTRA_AUTHORITY_HOST: httpsUrl('ENTRA_AUTHORITY_HOST'),
  GRAPH_BASE_URL: httpsUrl('GRAPH_BASE_URL'),
  GRAPH_MAX_CONCURRENCY_PER_MAILBOX: positiveInt('GRAPH_MAX_CONCURRENCY_PER_MAILBOX'),
  GRAPH_REQUEST_TIMEOUT_MS: positiveInt('GRAPH_REQUEST_TIMEOUT_MS'),
});

export type Settings = z.infer<typeof schema>;

/** Reads and validates the settings once; a bad value fails start-up with every problem named. */
export function readSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const raw: Record<string, string | undefined> = {};
  for (const spec of SETTINGS) {
    const value = env[spec.name];
    raw[spec.name] = value === undefined || value === '' ? spec.default : value;
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`Invalid app settings: ${problems}`);
  }
  return parsed.data;
}
