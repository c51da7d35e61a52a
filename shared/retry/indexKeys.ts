import { key } from '../storage/tableClients';
import type { TransactionRecord } from '../storage/transactions';
import { replayWindowEnds } from './schedule';

/**
 * Where a row is filed in the RetryIndex table. The entries are a pure function of the row, so the
 * pipeline, the sweep and any repair compute the same set and can diff it against the previous state.
 *
 * - Time entries: PartitionKey `due|<UTC hour of dueAt>`, RowKey `<dueAt ISO>|<tenant>|<id>|<attempts>`.
 *   One query over `PartitionKey le due|<this hour>` and `RowKey lt <now>` returns exactly the due
 *   entries, oldest first; the hour buckets spread writes over partitions and let old ones empty out.
 * - Config entries (fix-config rows waiting for a config change): PartitionKey `cfg|<tenant>|<connector>`,
 *   RowKey `<configVersion, 10 digits>|<id>|<attempts>`. A range query that leaves out the connector's
 *   current version returns exactly the rows recorded under another version.
 *
 * The attempt count in every RowKey makes each state's keys its own: deleting a previous state's entry
 * can never delete the entry a later state of the same row needs.
 */
export interface IndexKey {
  partitionKey: string;
  rowKey: string;
}

export interface IndexEntry extends IndexKey {
  tenantId: string;
  transactionId: string;
  attempts: number;
}

export const TIME_PREFIX = 'due|';
export const CONFIG_PREFIX = 'cfg|';
const VERSION_DIGITS = 10;

/** Rows the sweep may still act on; everything else has no entry. */
export function isIndexed(record: TransactionRecord): boolean {
  if (record.archived || record.expired || record.firstFailureAt === undefined) return false;
  return record.retryClass === 'retried' || record.retryClass === 'undiagnosed' || record.retryClass === 'fix-config';
}

export function timeBucket(at: Date): string {
  return `${TIME_PREFIX}${at.toISOString().slice(0, 13)}`;
}

export function versionKey(version: number): string {
  return String(version).padStart(VERSION_DIGITS, '0');
}

export function configPartition(tenantId: string, connectorId: string): string {
  return `${CONFIG_PREFIX}${key(tenantId, connectorId)}`;
}

/**
 * When the sweep must look at the row again: its backoff or lease, and at the latest the end of its
 * replay window (where it is marked expired). A fix-config row that is not leased waits for a config
 * change, so its only time entry is the window end.
 */
export function timeEntryDue(record: TransactionRecord): Date {
  const windowEnd = replayWindowEnds(new Date(record.firstFailureAt ?? record.lastAttemptAt));
  const waitsForConfig = record.retryClass === 'fix-config' && record.replayQueuedAt === undefined;
  if (waitsForConfig || record.nextAttemptAt === undefined) return windowEnd;
  const next = new Date(record.nextAttemptAt);
  return next < windowEnd ? next : windowEnd;
}

export function indexEntriesFor(record: TransactionRecord): IndexEntry[] {
  if (!isIndexed(record)) return [];
  const identity = { tenantId: record.tenantId, transactionId: record.transactionId, attempts: record.attempts };
  const suffix = `${key(record.tenantId)}|${key(record.transactionId)}|${record.attempts}`;
  const due = timeEntryDue(record);
  const entries: IndexEntry[] = [{ partitionKey: timeBucket(due), rowKey: `${due.toISOString()}|${suffix}`, ...identity }];
  if (record.retryClass === 'fix-config' && record.replayQueuedAt === undefined && record.connectorId !== undefined) {
    entries.push({
      partitionKey: configPartition(record.tenantId, record.connectorId),
      rowKey: `${versionKey(record.configVersion ?? 0)}|${key(record.transactionId)}|${record.attempts}`,
      ...identity,
    });
  }
  return entries;
}

export const sameKey = (a: IndexKey, b: IndexKey): boolean => a.partitionKey === b.partitionKey && a.rowKey === b.rowKey;

/** Entries of `before` that `after` no longer has. */
export function entriesDropped(before: readonly IndexKey[], after: readonly IndexKey[]): IndexKey[] {
  return before.filter((b) => !after.some((a) => sameKey(a, b)));
}
