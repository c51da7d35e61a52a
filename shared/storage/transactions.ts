import type { TableClient } from '@azure/data-tables';
import type { OutcomeStatus, RetryClass } from '../diagnostics/types';
import { joinText, splitText } from './chunkedText';
import { dropUndefined } from './connectors';
import { getOrUndefined, key, odata, TABLES, type TableProvider } from './tableClients';

/** Where an attempt came from, in the words the platform's operators use. */
export type Source = 'Service' | 'Website' | 'Timer job';
export const SOURCES: readonly Source[] = ['Service', 'Website', 'Timer job'];

/** The row status: a catalogued Status, Succeeded, or Superseded (an older version arrived late). */
export type TransactionStatus = OutcomeStatus | 'Superseded';

export interface AttemptSummary {
  at: string;
  source: Source;
  status: TransactionStatus;
  code?: string;
  message: string;
}

export interface TransactionRecord {
  tenantId: string;
  transactionId: string;
  status: TransactionStatus;
  code?: string;
  /** `[CODE] text` for failures; a plain sentence for successes */
  message: string;
  retryClass?: RetryClass;
  source: Source;
  attempts: number;
  firstAttemptAt: string;
  lastAttemptAt: string;
  /** first time this transaction failed; the 14-day replay window counts from here */
  firstFailureAt?: string;
  nextAttemptAt?: string;
  /** set by the retry sweep when it enqueues a replay; nextAttemptAt is then the end of its lease */
  replayQueuedAt?: string;
  connectorId?: string;
  connectorType?: string;
  /** the connector's config version at the last attempt: fix-config rows replay once it changes */
  configVersion?: number;
  appointmentId?: string;
  appointmentVersion?: number;
  action?: string;
  /** the message body as received, so the row can be replayed */
  payload: string;
  history: AttemptSummary[];
  archived: boolean;
  /** the retry sweep gave up on the row: it is kept, and never replayed by the sweep again */
  expired: boolean;
  /** why the sweep gave up (set with `expired`): the 14-day window ended, or there is nothing left to replay */
  givenUpReason?: GiveUpReason;
}

/** Why the retry sweep gave up on a row: see docs/retry.md. */
export type GiveUpReason = 'window-ended' | 'superseded' | 'no-payload';

export const HISTORY_LIMIT = 20;
const UNPARSED_TENANT = '(unparsed)';

type Entity = Record<string, unknown> & { partitionKey: string; rowKey: string };

/** The row as stored; exported for bulk writers (the sweep benchmark seeds rows as the pipeline writes them). */
export function toEntity(r: TransactionRecord): Entity {
  const { payload, history, tenantId, transactionId, ...rest } = r;
  return {
    partitionKey: key(tenantId || UNPARSED_TENANT),
    rowKey: key(transactionId),
    tenantId,
    transactionId,
    ...dropUndefined(rest),
    history: JSON.stringify(history.slice(-HISTORY_LIMIT)),
    ...splitText('payload', payload),
  };
}

function fromEntity(e: Record<string, unknown>): TransactionRecord {
  const pick = <T>(name: string): T | undefined => (e[name] === undefined || e[name] === null ? undefined : (e[name] as T));
  return {
    tenantId: String(e.tenantId ?? ''),
    transactionId: String(e.transactionId ?? ''),
    status: e.status as TransactionStatus,
    code: pick('code'),
    message: String(e.message ?? ''),
    retryClass: pick('retryClass'),
    source: (pick<Source>('source') ?? 'Service'),
    attempts: Number(e.attempts ?? 0),
    firstAttemptAt: String(e.firstAttemptAt ?? ''),
    lastAttemptAt: String(e.lastAttemptAt ?? ''),
    firstFailureAt: pick('firstFailureAt'),
    nextAttemptAt: pick('nextAttemptAt'),
    replayQueuedAt: pick('replayQueuedAt'),
    connectorId: pick('connectorId'),
    connectorType: pick('connectorType'),
    configVersion: pick('configVersion'),
    appointmentId: pick('appointmentId'),
    appointmentVersion: pick('appointmentVersion'),
    action: pick('action'),
    payload: joinText('payload', e),
    history: JSON.parse(String(e.history ?? '[]')) as AttemptSummary[],
    archived: e.archived === true,
    expired: e.expired === true,
    givenUpReason: pick('givenUpReason'),
  };
}

/** The Transactions PartitionKey of a tenant, for filters built outside this module. */
export function transactionPartition(tenantId: string): string {
  return key(tenantId || UNPARSED_TENANT);
}

export interface StoredTransaction {
  record: TransactionRecord;
  etag: string;
}

/** One row per appointment message: every attempt updates it, under the row's ETag. */
export class TransactionStore {
  constructor(private readonly tables: TableProvider) {}

  private client(): Promise<TableClient> {
    return this.tables.table(TABLES.transactions);
  }

  async get(tenantId: string, transactionId: string): Promise<StoredTransaction | undefined> {
    const entity = await getOrUndefined<Record<string, unknown>>(await this.client(), key(tenantId || UNPARSED_TENANT), key(transactionId));
    return entity ? { record: fromEntity(entity), etag: entity.etag } : undefined;
  }

  /** Creates the row (etag undefined) or replaces it if nobody changed it since it was read. */
  async save(record: TransactionRecord, etag: string | undefined): Promise<string> {
    const client = await this.client();
    const entity = toEntity(record);
    const result = etag === undefined ? await client.createEntity(entity) : await client.updateEntity(entity, 'Replace', { etag });
    return result.etag ?? '';
  }

  /**
   * One page of rows matching an OData filter (built with the `odata` template by the caller).
   * Table Storage may answer a filtered query with short or even empty pages, so pages are pulled
   * until `pageSize` rows are in hand or the table is exhausted.
   */
  async page(filter: string | undefined, pageSize: number, continuationToken?: string): Promise<{ records: TransactionRecord[]; continuationToken?: string }> {
    const client = await this.client();
    const records: TransactionRecord[] = [];
    let token = continuationToken;
    do {
      const iterator = client.listEntities<Record<string, unknown>>({ queryOptions: { filter } }).byPage({ maxPageSize: pageSize - records.length, continuationToken: token });
      const next = await iterator.next();
      if (next.done) break;
      records.push(...next.value.map(fromEntity));
      token = next.value.continuationToken;
    } while (token && records.length < pageSize);
    return { records, continuationToken: token };
  }

  async *list(tenantId?: string): AsyncIterable<TransactionRecord> {
    const client = await this.client();
    const filter = tenantId === undefined ? undefined : odata`PartitionKey eq ${key(tenantId)}`;
    for await (const entity of client.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) yield fromEntity(entity);
  }
}
