import { saveIndexed, type IndexedStores } from '../retry/indexedSave';
import { nextAttemptAt } from '../retry/schedule';
import type { StoredTransaction, TransactionRecord } from '../storage/transactions';

/** What one attempt learned; the row keeps its history and counters across attempts. */
export type AttemptOutcome = Pick<
  TransactionRecord,
  | 'tenantId'
  | 'transactionId'
  | 'source'
  | 'payload'
  | 'status'
  | 'message'
  | 'code'
  | 'retryClass'
  | 'connectorId'
  | 'connectorType'
  | 'configVersion'
  | 'appointmentId'
  | 'appointmentVersion'
  | 'action'
> & { retryAfterSeconds?: number };

const MAX_CONFLICT_RETRIES = 5;

function isFailure(outcome: AttemptOutcome): boolean {
  return outcome.code !== undefined && outcome.retryClass !== 'n/a';
}

export function applyAttempt(previous: TransactionRecord | undefined, outcome: AttemptOutcome, now: Date): TransactionRecord {
  const at = now.toISOString();
  const attempts = (previous?.attempts ?? 0) + 1;
  const failed = isFailure(outcome);
  const { retryAfterSeconds, ...fields } = outcome;
  return {
    ...fields,
    payload: outcome.payload || previous?.payload || '',
    attempts,
    firstAttemptAt: previous?.firstAttemptAt ?? at,
    lastAttemptAt: at,
    firstFailureAt: failed ? (previous?.firstFailureAt ?? at) : previous?.firstFailureAt,
    nextAttemptAt: outcome.retryClass ? nextAttemptAt(outcome.retryClass, attempts, now, retryAfterSeconds)?.toISOString() : undefined,
    history: [
      ...(previous?.history ?? []),
      { at, source: outcome.source, status: outcome.status, ...(outcome.code ? { code: outcome.code } : {}), message: outcome.message.slice(0, 500) },
    ],
    archived: previous?.archived ?? false,
    expired: false,
  };
}

/**
 * Read, apply, write under the row's ETag; a concurrent writer (a redelivery racing a replay) makes
 * us re-read and apply on top, so the row counts every attempt and is never duplicated. The row's
 * retry index entries follow it (see saveIndexed).
 *
 * `known` is the row as this invocation already read it (null: read, and absent): the first write
 * goes out under that ETag without reading again. Nothing is lost if the row moved on since: the
 * write is refused (412/409) and the loop re-reads.
 */
export async function recordAttempt(stores: IndexedStores, outcome: AttemptOutcome, now: () => Date, known?: StoredTransaction | null): Promise<TransactionRecord> {
  for (let attempt = 0; ; attempt += 1) {
    const existing = attempt === 0 && known !== undefined ? (known ?? undefined) : await stores.transactions.get(outcome.tenantId, outcome.transactionId);
    const record = applyAttempt(existing?.record, outcome, now());
    try {
      await saveIndexed(stores, existing?.record, record, existing?.etag);
      return record;
    } catch (error) {
      const status = (error as { statusCode?: number }).statusCode;
      if ((status === 409 || status === 412) && attempt < MAX_CONFLICT_RETRIES) continue;
      throw error;
    }
  }
}
