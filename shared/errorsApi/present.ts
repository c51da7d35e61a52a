import { findEntry } from '../diagnostics/catalogue';
import type { StoredConnector } from '../storage/connectors';
import type { TransactionRecord } from '../storage/transactions';

/** A row as the API shows it: the code comes with its title so a list reads without lookups. */
export function presentTransaction(record: TransactionRecord, detail = false) {
  const { payload, history, ...summary } = record;
  const entry = record.code ? findEntry(record.code) : undefined;
  return {
    ...summary,
    ...(entry ? { title: entry.title, explanation: `/api/errors/${entry.code}` } : {}),
    replayable: payload.length > 0 && !record.archived,
    ...(detail ? { history, payload } : {}),
  };
}

/** Secrets are write-only: the API says whether one is set, never what it is. */
export function presentConnector(connector: StoredConnector) {
  const { protectedClientSecret, protectedSigningSecret, ...visible } = connector;
  return { ...visible, hasClientSecret: protectedClientSecret !== undefined, hasSigningSecret: protectedSigningSecret !== undefined };
}
