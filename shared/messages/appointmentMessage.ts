import { z } from 'zod';
import { SchemaMismatchError } from '../diagnostics/domainErrors';

/** Schema versions this connector understands; a newer one is DSCFG004 until the connector is upgraded. */
export const SUPPORTED_SCHEMA_VERSIONS = [1] as const;

const id = (what: string) => z.string({ error: `${what} must be a string` }).trim().min(1, `${what} is required`).max(200, `${what} is longer than 200 characters`);

const dateTimeZone = z.object({
  dateTime: z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?$/, 'must be a local date-time like 2026-11-21T09:30:00 (no offset; the timeZone says where)'),
  timeZone: z.string().trim().min(1, 'timeZone is required').max(100),
});

export const resourceSchema = z.object({
  number: id('resource number'),
  name: z.string().trim().min(1, 'resource name is required').max(200),
  email: z.email('resource email must be an e-mail address').optional(),
  exchangeEnabled: z.boolean().default(false),
}).refine((r) => !r.exchangeEnabled || r.email !== undefined, { path: ['email'], message: 'email is required when exchangeEnabled is true' });

const base = {
  schemaVersion: z.literal(1, { error: 'schemaVersion must be 1 (the only version this connector understands)' }),
  tenantId: id('tenantId'),
  connectorId: id('connectorId'),
  appointmentId: id('appointmentId'),
  appointmentVersion: z.number({ error: 'appointmentVersion must be a number' }).int().nonnegative(),
  /** what the sender believes the connector is; a stored type that disagrees is a wrong-type failure */
  connectorType: z.enum(['Exchange', 'Webhook'], { error: "connectorType must be 'Exchange' or 'Webhook'" }).optional(),
};

const upsert = z.object({
  ...base,
  action: z.enum(['create', 'update']),
  subject: z.string().max(255, 'subject is longer than 255 characters'),
  body: z.string().max(30_000, 'body is longer than 30,000 characters').optional(),
  location: z.string().max(255).optional(),
  start: dateTimeZone,
  end: dateTimeZone,
  isAllDay: z.boolean().optional(),
  resources: z.array(resourceSchema).max(100, 'at most 100 resources per appointment'),
});

const remove = z.object({
  ...base,
  action: z.literal('delete'),
  resources: z.array(resourceSchema).max(100),
});

export const appointmentMessageSchema = z
  .discriminatedUnion('action', [upsert, remove], { error: "action must be 'create', 'update' or 'delete'" })
  .superRefine((m, ctx) => {
    if (m.action !== 'delete' && m.start.dateTime > m.end.dateTime && m.start.timeZone === m.end.timeZone) {
      ctx.addIssue({ code: 'custom', path: ['end'], message: 'end is before start' });
    }
  });

export type AppointmentMessage = z.infer<typeof appointmentMessageSchema>;
export type UpsertMessage = Extract<AppointmentMessage, { action: 'create' | 'update' }>;
export type AppointmentResource = z.infer<typeof resourceSchema>;

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => (issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message))
    .join('; ');
}

/**
 * Service Bus hands the trigger a parsed object when the body was JSON, a string or a Buffer
 * otherwise. Whatever arrives, the result is a message or a SchemaMismatchError naming the field.
 */
export function parseAppointmentMessage(body: unknown): AppointmentMessage {
  let value = body;
  if (Buffer.isBuffer(value)) value = value.toString('utf8');
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      throw new SchemaMismatchError('the body is not valid JSON');
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SchemaMismatchError('the body must be a JSON object');
  }
  const version = (value as { schemaVersion?: unknown }).schemaVersion;
  if (typeof version === 'number' && !SUPPORTED_SCHEMA_VERSIONS.includes(version as 1)) {
    throw new SchemaMismatchError(`schemaVersion ${version} is not supported by this connector (supported: ${SUPPORTED_SCHEMA_VERSIONS.join(', ')})`);
  }
  const parsed = appointmentMessageSchema.safeParse(value);
  if (!parsed.success) throw new SchemaMismatchError(describeIssues(parsed.error));
  return parsed.data;
}

/** The raw body as text, for the poison row and for replay. */
export function rawBody(body: unknown): string {
  if (Buffer.isBuffer(body)) return body.toString('utf8');
  if (typeof body === 'string') return body;
  try {
    return JSON.stringify(body) ?? String(body);
  } catch {
    return String(body);
  }
}
