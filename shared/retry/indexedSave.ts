import type { RetryIndexStore } from '../storage/retryIndex';
import type { TransactionRecord, TransactionStore } from '../storage/transactions';
import { entriesDropped, indexEntriesFor } from './indexKeys';

export interface IndexedStores {
  transactions: TransactionStore;
  retryIndex: RetryIndexStore;
}

/**
 * Saves a transaction row (under `etag`; undefined creates it) and keeps its RetryIndex entries in
 * step, in the one order that survives a crash at any point:
 *   1. add the entries the new state needs — before the row, so a row is never without them;
 *   2. save the row under its ETag (a 412/409 propagates: the caller re-reads and decides again);
 *   3. remove the entries only the previous state needed.
 * A crash after 1 leaves entries for a state that was never written, after 2 entries of a state that
 * is gone: both are stale, and stale entries are harmless because the sweep re-reads the row (and
 * claims it under its ETag) before it acts, and tidies them.
 */
export async function saveIndexed(stores: IndexedStores, previous: TransactionRecord | undefined, next: TransactionRecord, etag: string | undefined): Promise<string> {
  const wanted = indexEntriesFor(next);
  await stores.retryIndex.upsert(wanted);
  const saved = await stores.transactions.save(next, etag);
  await stores.retryIndex.remove(entriesDropped(previous ? indexEntriesFor(previous) : [], wanted));
  return saved;
}
