import { odata } from '../storage/tableClients';
import { z } from 'zod';
import { STATUSES } from '../diagnostics/types';
import { transactionPartition } from '../storage/transactions';
import { BadRequestError } from './errors';

const ROW_STATUSES = [...STATUSES, 'Succeeded', 'Superseded'] as const;
const id = z.string().trim().min(1).max(200);
const isoInstant = z.iso.datetime({ offset: true, error: 'must be an ISO-8601 date-time such as 2026-11-21T09:00:00Z' });

/** Every filter an operator can set, validated: anything else is a 400 with the field named. */
export const transactionFilterSchema = z
  .object({
    tenant: id.optional(),
    connector: id.optional(),
    status: z.enum(ROW_STATUSES, { error: `status must be one of ${ROW_STATUSES.join(', ')}` }).optional(),
    // not `code`: Azure Functions reads the function key from the `code` query parameter
    errorCode: z
      .string()
      .trim()
      .toUpperCase()
      .regex(/^DS[A-Z]{2,5}\d{3}$/, 'errorCode must look like DSEX030')
      .optional(),
    from: isoInstant.optional(),
    to: isoInstant.optional(),
    failedOnly: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
    includeArchived: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
  })
  .refine((f) => !(f.from && f.to) || Date.parse(f.from) <= Date.parse(f.to), { path: ['to'], message: 'to must not be before from' });

export type TransactionFilter = z.infer<typeof transactionFilterSchema>;
export const FILTER_PARAMS = ['tenant', 'connector', 'status', 'errorCode', 'from', 'to', 'failedOnly', 'includeArchived'] as const;

export function parseWith<T extends z.ZodType>(schema: T, input: unknown): z.infer<T> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    throw new BadRequestError(parsed.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; '));
  }
  return parsed.data;
}

/** The function key travels as `code`; the host checks it, the API ignores it. */
export const FUNCTION_KEY_PARAM = 'code';

/** Query-string parameters as a plain object; a repeated parameter is refused rather than guessed at. */
export function queryObject(params: URLSearchParams, allowed: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of params) {
    if (name === FUNCTION_KEY_PARAM) continue;
    if (!allowed.includes(name)) throw new BadRequestError(`unknown parameter '${name.slice(0, 40)}'`);
    if (name in out) throw new BadRequestError(`parameter '${name}' given more than once`);
    out[name] = value;
  }
  return out;
}

/**
 * The OData filter for Table Storage. Every value goes through the `odata` template, which quotes and
 * escapes it, so no parameter can change the shape of the query.
 */
export function toOData(filter: TransactionFilter): string | undefined {
  const clauses: string[] = [];
  if (filter.tenant !== undefined) clauses.push(odata`PartitionKey eq ${transactionPartition(filter.tenant)}`);
  if (filter.connector !== undefined) clauses.push(odata`connectorId eq ${filter.connector}`);
  if (filter.status !== undefined) clauses.push(odata`status eq ${filter.status}`);
  if (filter.errorCode !== undefined) clauses.push(odata`code eq ${filter.errorCode}`);
  if (filter.from !== undefined) clauses.push(odata`lastAttemptAt ge ${new Date(filter.from).toISOString()}`);
  if (filter.to !== undefined) clauses.push(odata`lastAttemptAt le ${new Date(filter.to).toISOString()}`);
  if (filter.failedOnly) clauses.push(`status ne 'Succeeded' and status ne 'Superseded'`);
  if (!filter.includeArchived) clauses.push('archived eq false');
  return clauses.length ? clauses.join(' and ') : undefined;
}
