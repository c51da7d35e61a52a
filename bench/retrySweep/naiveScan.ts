import { odata } from '@azure/data-tables';
import { decide } from '../../shared/retry/dueRules';
import type { ConnectorStore } from '../../shared/storage/connectors';
import { key } from '../../shared/storage/tableClients';
import type { TransactionStore } from '../../shared/storage/transactions';

const PAGE = 1_000;

/**
 * What a sweep without the retry index would do: one filter over the whole Transactions table for
 * the rows it may have to replay (a filter on non-key columns, so the service examines every row),
 * then the same due rules in process. Superseded checks are left out: they would only add reads.
 */
export async function naiveDueScan(transactions: TransactionStore, connectors: ConnectorStore, now: Date): Promise<{ candidates: number; due: number }> {
  const versions = new Map<string, number>();
  for await (const c of connectors.versions()) versions.set(key(c.tenantId, c.connectorId), c.configVersion);
  const filter = odata`archived eq ${false} and expired eq ${false} and (retryClass eq ${'retried'} or retryClass eq ${'undiagnosed'} or retryClass eq ${'fix-config'})`;
  let candidates = 0;
  let due = 0;
  let token: string | undefined;
  do {
    const page = await transactions.page(filter, PAGE, token);
    for (const record of page.records) {
      candidates += 1;
      const connectorVersion = record.connectorId === undefined ? undefined : versions.get(key(record.tenantId, record.connectorId));
      if (decide(record, { now, connectorVersion, latestAppointmentVersion: undefined }).action === 'replay') due += 1;
    }
    token = page.continuationToken;
  } while (token);
  return { candidates, due };
}
