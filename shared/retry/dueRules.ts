import type { TransactionRecord } from '../storage/transactions';
import { isIndexed } from './indexKeys';
import { replayWindowEnds } from './schedule';

/** Why the sweep looked at an index entry and did not enqueue or expire its row. */
export const SKIP_REASONS = [
  'archived',
  'already-expired',
  'settled',
  'superseded',
  'no-payload',
  'not-due',
  'stale-entry',
  'missing-row',
  'claimed-elsewhere',
] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

export type Decision = { action: 'replay' } | { action: 'expire' } | { action: 'skip'; reason: SkipReason };

export interface DueContext {
  now: Date;
  /** the connector's config version now; undefined when the connector no longer exists */
  connectorVersion: number | undefined;
  /** the newest version of the appointment taken up; undefined when none was recorded */
  latestAppointmentVersion: number | undefined;
}

const atOrBefore = (iso: string | undefined, now: Date): boolean => iso !== undefined && Date.parse(iso) <= now.getTime();

/**
 * The due rules (documented in shared/retry/schedule.ts and docs/retry.md), on the row as just read —
 * never on the index entry, which may be stale. Checked in this order so that the most final reason
 * wins: a row outside its window is expired even if it was also superseded.
 */
export function decide(row: TransactionRecord, ctx: DueContext): Decision {
  if (row.archived) return { action: 'skip', reason: 'archived' };
  if (row.expired) return { action: 'skip', reason: 'already-expired' };
  if (!isIndexed(row)) return { action: 'skip', reason: 'settled' };
  if (ctx.now >= replayWindowEnds(new Date(row.firstFailureAt!))) return { action: 'expire' };
  if (ctx.latestAppointmentVersion !== undefined && row.appointmentVersion !== undefined && ctx.latestAppointmentVersion > row.appointmentVersion) {
    return { action: 'skip', reason: 'superseded' };
  }
  if (!row.payload) return { action: 'skip', reason: 'no-payload' };
  return isDue(row, ctx) ? { action: 'replay' } : { action: 'skip', reason: 'not-due' };
}

function isDue(row: TransactionRecord, ctx: DueContext): boolean {
  // A replay the sweep enqueued that was never recorded: send it again once its lease ran out.
  if (row.replayQueuedAt !== undefined) return atOrBefore(row.nextAttemptAt, ctx.now);
  if (row.retryClass !== 'fix-config') return atOrBefore(row.nextAttemptAt ?? row.lastAttemptAt, ctx.now);
  return ctx.connectorVersion !== undefined && ctx.connectorVersion !== (row.configVersion ?? 0);
}
