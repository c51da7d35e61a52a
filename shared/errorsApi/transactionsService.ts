import { entry } from '../diagnostics/catalogue';
import type { Source, TransactionRecord, TransactionStore } from '../storage/transactions';
import { BadRequestError, NotFoundError } from './errors';
import { toOData, type TransactionFilter } from './transactionFilter';
import type { ReplayPublisher } from '../messaging/replayPublisher';

export interface Summary {
  byCode: Array<{ code: string; title: string; status: string; retry: string; count: number }>;
  byStatus: Array<{ status: string; count: number }>;
  scanned: number;
  truncated: boolean;
}

/** Reading bound for one summary or bulk replay: beyond it the answer says it was truncated. */
export const MAX_SCAN = 50_000;
export const MAX_BULK_REPLAY = 1_000;

const PAGE = 1000;

export class TransactionsService {
  constructor(
    private readonly store: TransactionStore,
    private readonly publisher: ReplayPublisher,
  ) {}

  page(filter: TransactionFilter, pageSize: number, continuationToken?: string) {
    return this.store.page(toOData(filter), pageSize, continuationToken);
  }

  async get(tenantId: string, transactionId: string): Promise<TransactionRecord> {
    const found = await this.store.get(tenantId, transactionId);
    if (!found) throw new NotFoundError(`No transaction '${transactionId}' for tenant '${tenantId}'.`);
    return found.record;
  }

  /** All rows matching the filter, up to `limit`, newest attempt first. */
  async matching(filter: TransactionFilter, limit = MAX_SCAN): Promise<{ records: TransactionRecord[]; truncated: boolean }> {
    const records: TransactionRecord[] = [];
    let token: string | undefined;
    do {
      const page = await this.store.page(toOData(filter), Math.min(PAGE, limit - records.length), token);
      records.push(...page.records);
      token = page.continuationToken;
    } while (token && records.length < limit);
    records.sort((a, b) => b.lastAttemptAt.localeCompare(a.lastAttemptAt));
    return { records, truncated: token !== undefined };
  }

  /** What broke most: counts by code and by Status (Table Storage cannot aggregate, so we count). */
  async summary(filter: TransactionFilter): Promise<Summary> {
    const { records, truncated } = await this.matching(filter);
    return summarize(records, truncated);
  }

  async replayOne(tenantId: string, transactionId: string, source: Source = 'Website'): Promise<{ enqueued: number }> {
    const record = await this.get(tenantId, transactionId);
    if (record.archived) throw new BadRequestError('An archived transaction is not replayed; unarchive it first.');
    if (!record.payload) throw new BadRequestError('This transaction has no message to replay.');
    return this.publisher.replay([record], source);
  }

  async replayMatching(filter: TransactionFilter, source: Source = 'Website'): Promise<{ enqueued: number; matched: number; truncated: boolean }> {
    const { records, truncated } = await this.matching({ ...filter, includeArchived: false }, MAX_BULK_REPLAY);
    const replayable = records.filter((r) => r.payload && r.status !== 'Succeeded');
    const { enqueued } = await this.publisher.replay(replayable, source);
    return { enqueued, matched: records.length, truncated };
  }

  async setArchived(tenantId: string, transactionId: string, archived: boolean): Promise<TransactionRecord> {
    for (let attempt = 0; ; attempt += 1) {
      const found = await this.store.get(tenantId, transactionId);
      if (!found) throw new NotFoundError(`No transaction '${transactionId}' for tenant '${tenantId}'.`);
      const record = { ...found.record, archived };
      try {
        await this.store.save(record, found.etag);
        return record;
      } catch (error) {
        if ((error as { statusCode?: number }).statusCode === 412 && attempt < 3) continue;
        throw error;
      }
    }
  }
}

export function summarize(records: readonly TransactionRecord[], truncated: boolean): Summary {
  const byCode = new Map<string, number>();
  const byStatus = new Map<string, number>();
  for (const r of records) {
    if (r.code) byCode.set(r.code, (byCode.get(r.code) ?? 0) + 1);
    byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1);
  }
  return {
    byCode: [...byCode]
      .map(([code, count]) => {
        const e = entry(code);
        return { code, title: e.title, status: e.status, retry: e.retry, count };
      })
      .sort((a, b) => b.count - a.count || a.code.localeCompare(b.code)),
    byStatus: [...byStatus].map(([status, count]) => ({ status, count })).sort((a, b) => b.count - a.count),
    scanned: records.length,
    truncated,
  };
}
