import type { TableClient, TransactionAction } from '@azure/data-tables';
import { applyAttempt, type AttemptOutcome } from '../../shared/pipeline/recordAttempt';
import { indexEntriesFor } from '../../shared/retry/indexKeys';
import type { ConnectorStore } from '../../shared/storage/connectors';
import { key, TABLES, type TableProvider } from '../../shared/storage/tableClients';
import { toEntity, type TransactionRecord } from '../../shared/storage/transactions';

/**
 * A Transactions table as the pipeline leaves it: every row built by the record step's own
 * `applyAttempt` (timestamps, backoff with jitter, history), its RetryIndex entries from
 * `indexEntriesFor`, and the appointment version the message claimed. Only the writing is different:
 * batch transactions per partition instead of one message at a time.
 *
 * Of `rows`, exactly `rows / 100` are due at `now`: retried (DSEX040) and undiagnosed (DSUNK001) rows
 * past their backoff, and fix-config (DSEX001) rows of connectors edited since. The rest are what a
 * busy table holds: successes, retried and undiagnosed rows still backing off, fix-config rows whose
 * connector is unchanged, and n/a rows.
 */
export const TENANTS = 10;
/** connector 0 of every tenant was edited after its fix-config rows failed; connector 1 was not */
const EDITED = 0;
const UNCHANGED = 1;

const FAILURES = {
  transient: { status: 'Failed', code: 'DSEX040', retryClass: 'retried' },
  unknown: { status: 'Failed', code: 'DSUNK001', retryClass: 'undiagnosed' },
  expiredSecret: { status: 'InvalidBackOfficeSettings', code: 'DSEX001', retryClass: 'fix-config' },
  alreadyDeleted: { status: 'Skipped', code: 'DSEX021', retryClass: 'n/a' },
} as const;
type Failure = (typeof FAILURES)[keyof typeof FAILURES];

const MINUTE = 60_000;
const BATCH = 100;
const PARALLEL_BATCHES = 8;

export const tenantOf = (i: number): string => `tenant-${i % TENANTS}`;
const connectorOf = (c: number): string => `exchange-${c}`;

/** A repeatable stream of numbers in [0, 1), so every run seeds the same table. */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function outcome(i: number, connector: number, failure: Failure | 'succeeded'): AttemptOutcome {
  const tenantId = tenantOf(i);
  const appointmentId = `APT-${i}`;
  return {
    tenantId,
    transactionId: `tx-${String(i).padStart(7, '0')}`,
    source: 'Service',
    payload: JSON.stringify({ tenantId, connectorId: connectorOf(connector), appointmentId, version: 1, subject: `Appointment ${i}`, start: '2026-12-01T09:00:00Z', end: '2026-12-01T09:30:00Z' }),
    connectorId: connectorOf(connector),
    connectorType: 'Exchange',
    configVersion: 1,
    appointmentId,
    appointmentVersion: 1,
    action: 'create',
    ...(failure === 'succeeded' ? { status: 'Succeeded', message: 'created' } : { ...failure, message: `[${failure.code}] bench` }),
  };
}

/** `attempts` attempts, the last one `lastAgoMs` before now, spaced by the backoff they scheduled. */
function attempted(o: AttemptOutcome, attempts: number, lastAgoMs: number, now: Date): TransactionRecord {
  let record: TransactionRecord | undefined;
  const last = now.getTime() - lastAgoMs;
  for (let n = attempts; n >= 1; n--) record = applyAttempt(record, o, new Date(last - (n - 1) * 30 * MINUTE));
  return record!;
}

/** Backoff of attempt n without jitter (2, 4, 8 … minutes, capped at 6 h), as shared/retry/schedule.ts. */
const backoffMs = (attempts: number): number => Math.min(360, 2 * 2 ** (attempts - 1)) * MINUTE;

export function planRows(rows: number, now: Date): { records: TransactionRecord[]; due: number } {
  const random = lcg(20261122);
  const due = Math.floor(rows / 100);
  const records: TransactionRecord[] = [];
  for (let i = 0; i < rows; i++) {
    if (i < due) {
      const kind = i % 10;
      // Past their backoff (≤ 2.5 min after one attempt) by 15 min to 6 h: spread over several hour buckets.
      const ago = (15 + random() * 345) * MINUTE;
      if (kind < 4) records.push(attempted(outcome(i, i % 2, FAILURES.transient), 1, ago, now));
      else if (kind < 7) records.push(attempted(outcome(i, i % 2, FAILURES.unknown), 1, ago, now));
      else records.push(attempted(outcome(i, EDITED, FAILURES.expiredSecret), 1, 2 * 24 * 60 * MINUTE, now));
      continue;
    }
    const kind = i % 20;
    if (kind <= 10) records.push(attempted(outcome(i, i % 2, 'succeeded'), 1, random() * 24 * 60 * MINUTE, now));
    else if (kind <= 16 || kind === 19) {
      // Still backing off: 6–11 attempts (backoff 64 min to the 6 h cap), the last one recent enough
      // that even the shortest jitter (−25 %) puts the next attempt ≥ 24 min after now, well after
      // the seeding and the measured pass are done.
      const attempts = 6 + Math.floor(random() * 6);
      const ago = random() * 0.5 * 0.75 * backoffMs(attempts);
      records.push(attempted(outcome(i, i % 2, kind === 19 ? FAILURES.unknown : FAILURES.transient), attempts, ago, now));
    } else if (kind === 17) records.push(attempted(outcome(i, UNCHANGED, FAILURES.expiredSecret), 1, random() * 5 * 24 * 60 * MINUTE, now));
    else records.push(attempted(outcome(i, i % 2, FAILURES.alreadyDeleted), 1, random() * 24 * 60 * MINUTE, now));
  }
  return { records, due };
}

/** Every tenant gets two connectors at config version 1; connector 0 is then edited (version 2). */
export async function seedConnectors(connectors: ConnectorStore): Promise<void> {
  for (let t = 0; t < TENANTS; t++) {
    for (const c of [EDITED, UNCHANGED]) {
      await connectors.save({ tenantId: `tenant-${t}`, connectorId: connectorOf(c), type: 'Exchange', name: `Exchange ${c}`, allowedToSend: true });
    }
    await connectors.save({ tenantId: `tenant-${t}`, connectorId: connectorOf(EDITED), type: 'Exchange', name: `Exchange ${EDITED}`, allowedToSend: true, clientSecret: 'rotated' });
  }
}

type Entity = { partitionKey: string; rowKey: string } & Record<string, unknown>;

/** Writes the rows, their index entries and their appointment versions, 100 per batch per partition. */
export async function seedRows(tables: TableProvider, records: readonly TransactionRecord[]): Promise<{ transactions: number; indexEntries: number; versions: number }> {
  const transactions = records.map(toEntity);
  const index: Entity[] = records.flatMap((r) => indexEntriesFor(r).map((e) => ({ ...e })));
  // As AppointmentVersionStore.claim leaves it for a message that was taken up.
  const versions: Entity[] = records.map((r) => ({
    partitionKey: key(r.tenantId, r.connectorId!),
    rowKey: key(r.appointmentId!),
    latestVersion: r.appointmentVersion!,
    claimedAt: r.firstAttemptAt,
  }));
  await writeBatched(await tables.table(TABLES.transactions), transactions);
  await writeBatched(await tables.table(TABLES.retryIndex), index);
  await writeBatched(await tables.table(TABLES.appointments), versions);
  return { transactions: transactions.length, indexEntries: index.length, versions: versions.length };
}

async function writeBatched(client: TableClient, entities: readonly Entity[]): Promise<void> {
  const byPartition = new Map<string, Entity[]>();
  for (const e of entities) {
    const list = byPartition.get(e.partitionKey) ?? [];
    list.push(e);
    byPartition.set(e.partitionKey, list);
  }
  const batches: TransactionAction[][] = [];
  for (const list of byPartition.values()) {
    for (let i = 0; i < list.length; i += BATCH) batches.push(list.slice(i, i + BATCH).map((e) => ['upsert', e, 'Replace'] as TransactionAction));
  }
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < batches.length) await client.submitTransaction(batches[next++]!);
  };
  await Promise.all(Array.from({ length: PARALLEL_BATCHES }, worker));
}
