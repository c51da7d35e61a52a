import type { TableClient } from '@azure/data-tables';
import { configPartition, TIME_PREFIX, timeBucket, versionKey, type IndexEntry, type IndexKey } from '../retry/indexKeys';
import { key, odata, TABLES, type TableProvider } from './tableClients';

/** An index entry as read back, with the time the service last wrote it. */
export interface StoredIndexEntry extends IndexEntry {
  writtenAt?: Date;
}

export interface ConfigSweepState {
  version: number;
  sweptAt: string;
}

/** Sorts after every `due|…` and `cfg|…` partition, so no index query ever returns sweep state. */
const STATE_PARTITION = 'sweep|cfg';

function toEntry(e: Record<string, unknown> & IndexKey & { timestamp?: string }): StoredIndexEntry {
  return {
    partitionKey: e.partitionKey,
    rowKey: e.rowKey,
    tenantId: String(e.tenantId ?? ''),
    transactionId: String(e.transactionId ?? ''),
    attempts: Number(e.attempts ?? 0),
    ...(e.timestamp ? { writtenAt: new Date(e.timestamp) } : {}),
  };
}

const ignoreMissing = (error: unknown): void => {
  if ((error as { statusCode?: number }).statusCode !== 404) throw error;
};

/**
 * The RetryIndex table (layout in shared/retry/indexKeys.ts): pointers to the transaction rows the
 * sweep must look at, so a pass reads what is due and not the Transactions table.
 */
export class RetryIndexStore {
  constructor(private readonly tables: TableProvider) {}

  private client(): Promise<TableClient> {
    return this.tables.table(TABLES.retryIndex);
  }

  async upsert(entries: readonly IndexEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const client = await this.client();
    await Promise.all(entries.map((e) => client.upsertEntity({ ...e }, 'Replace')));
  }

  /** Deleting an entry that is already gone is fine: two sweeps may tidy the same one. */
  async remove(keys: readonly IndexKey[]): Promise<void> {
    if (keys.length === 0) return;
    const client = await this.client();
    await Promise.all(keys.map((k) => client.deleteEntity(k.partitionKey, k.rowKey).catch(ignoreMissing)));
  }

  /** Time entries due at `now`, oldest first: past hour buckets whole, the current one up to now. */
  async *dueByTime(now: Date): AsyncIterable<StoredIndexEntry> {
    const filter = odata`PartitionKey ge ${TIME_PREFIX} and PartitionKey le ${timeBucket(now)} and RowKey lt ${`${now.toISOString()}~`}`;
    yield* this.query(filter);
  }

  /** Config entries of one connector recorded under any version but `currentVersion`. */
  async *otherVersions(tenantId: string, connectorId: string, currentVersion: number): AsyncIterable<StoredIndexEntry> {
    const partition = configPartition(tenantId, connectorId);
    const filter = odata`PartitionKey eq ${partition} and (RowKey lt ${versionKey(currentVersion)} or RowKey ge ${versionKey(currentVersion + 1)})`;
    yield* this.query(filter);
  }

  async configSweepStates(): Promise<Map<string, ConfigSweepState>> {
    const client = await this.client();
    const states = new Map<string, ConfigSweepState>();
    const filter = odata`PartitionKey eq ${STATE_PARTITION}`;
    for await (const e of client.listEntities<{ version: number; sweptAt: string }>({ queryOptions: { filter } })) {
      states.set(e.rowKey ?? '', { version: Number(e.version), sweptAt: String(e.sweptAt) });
    }
    return states;
  }

  async recordConfigSweep(tenantId: string, connectorId: string, state: ConfigSweepState): Promise<void> {
    const client = await this.client();
    await client.upsertEntity({ partitionKey: STATE_PARTITION, rowKey: configStateKey(tenantId, connectorId), ...state }, 'Replace');
  }

  private async *query(filter: string): AsyncIterable<StoredIndexEntry> {
    const client = await this.client();
    for await (const e of client.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
      yield toEntry(e as Record<string, unknown> & IndexKey & { timestamp?: string });
    }
  }
}

export function configStateKey(tenantId: string, connectorId: string): string {
  return key(tenantId, connectorId);
}
