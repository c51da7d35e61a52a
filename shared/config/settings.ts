import { z } from 'zod';
import { SETTINGS } from './settingSpecs';

// The list itself and `bindingExpression` live in ./settingSpecs (no zod, loaded at registration).
export { bindingExpression, SETTINGS, type SettingSpec } from './settingSpecs';

const positiveInt = (name: string) =>
  z.coerce
    .number({ error: `${name} must be a whole number` })
    .int(`${name} must be a whole number`)
    .positive(`${name} must be greater than 0`);

const httpsUrl = (name: string) =>
  z.url({ protocol: /^https$/, error: `${name} must be an https:// URL` });

// Six NCRONTAB fields (seconds first), or an hh:mm:ss TimeSpan as the Functions timer also accepts.
const ncrontab = (name: string) =>
  z.string().regex(/^(\S+\s+){5}\S+$|^\d{1,2}:\d{2}:\d{2}$/, `${name} must be a six-field NCRONTAB expression such as "0 */5 * * * *"`);

const schema = z.object({
  APPOINTMENTS_QUEUE: z.string().min(1),
  ServiceBusConnection: z.string().optional(),
  ServiceBusConnection__fullyQualifiedNamespace: z.string().optional(),
  TablesConnection: z.string().optional(),
  TablesConnection__tableServiceUri: z.string().optional(),
  STORAGE_REQUEST_TIMEOUT_MS: positiveInt('STORAGE_REQUEST_TIMEOUT_MS'),
  AZURE_CLIENT_ID: z.string().optional(),
  APPLICATIONINSIGHTS_CONNECTION_STRING: z.string().optional(),
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: z.string().optional(),
  SECRET_PROTECTION_KEY: z.string().optional(),
  ENTRA_AUTHORITY_HOST: httpsUrl('ENTRA_AUTHORITY_HOST'),
  GRAPH_BASE_URL: httpsUrl('GRAPH_BASE_URL'),
  GRAPH_MAX_CONCURRENCY_PER_MAILBOX: positiveInt('GRAPH_MAX_CONCURRENCY_PER_MAILBOX'),
  GRAPH_REQUEST_TIMEOUT_MS: positiveInt('GRAPH_REQUEST_TIMEOUT_MS'),
  WEBHOOK_TIMEOUT_MS: positiveInt('WEBHOOK_TIMEOUT_MS'),
  WEBHOOK_MAX_ATTEMPTS: positiveInt('WEBHOOK_MAX_ATTEMPTS'),
  WEBHOOK_RETRY_BASE_DELAY_MS: positiveInt('WEBHOOK_RETRY_BASE_DELAY_MS'),
  WEBHOOK_DELIVERY_BUDGET_MS: positiveInt('WEBHOOK_DELIVERY_BUDGET_MS'),
  WEBHOOK_BREAKER_FAILURE_THRESHOLD: positiveInt('WEBHOOK_BREAKER_FAILURE_THRESHOLD'),
  WEBHOOK_BREAKER_BREAK_MS: positiveInt('WEBHOOK_BREAKER_BREAK_MS'),
  RETRY_SWEEP_SCHEDULE: ncrontab('RETRY_SWEEP_SCHEDULE'),
  RETRY_SWEEP_MAX_ROWS: positiveInt('RETRY_SWEEP_MAX_ROWS'),
  RETRY_SWEEP_MAX_SECONDS: positiveInt('RETRY_SWEEP_MAX_SECONDS'),
  RETRY_SWEEP_LEASE_MINUTES: positiveInt('RETRY_SWEEP_LEASE_MINUTES'),
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
