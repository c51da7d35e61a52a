import { randomUUID } from 'node:crypto';
import type { TableClient } from '@azure/data-tables';
import { BrokenCircuitError, TaskCancelledError, timeout, TimeoutStrategy } from 'cockatiel';
import { dropUndefined } from '../storage/connectors';
import { getOrUndefined, key, TABLES, type TableProvider } from '../storage/tableClients';
import { admission, afterCall, type BreakerPhase, type BreakerSettings, type BreakerState, type CallOutcome } from './breakerState';

/**
 * Why not cockatiel's CircuitBreakerPolicy (with `initialState` loaded from the table and `toJSON()`
 * written back)? Its state is made to live in one process: it serialises half-open as "open since
 * 0", so every instance that loads it would send its own probe at once; merging two instances'
 * opaque snapshots after an ETag conflict has no meaning; and the snapshot format is an internal of
 * cockatiel 3 that an upgrade may change under rows already stored. So the breaker is a small state
 * machine (./breakerState) whose only copy is the table row, changed by compare-and-swap on the ETag:
 * one instance wins the half-open probe, every other one re-reads and sees the lease. Cockatiel still
 * runs each delivery (timeout and retry, ./deliveryPolicy), and a short-circuit throws cockatiel's own
 * BrokenCircuitError, so the classifier's DSWBHK030 rule treats both breakers alike.
 */
export interface BreakerKey {
  tenantId: string;
  connectorId: string;
  configVersion: number;
}

/** What a call holds between admit and record; `probeId` when it is the half-open probe. */
export interface BreakerTicket {
  key: BreakerKey;
  probeId?: string;
}

export interface SharedBreakerSettings extends BreakerSettings {
  /**
   * The most one admit, or one record, may spend on the store, SDK retries included; on expiry the
   * call goes ahead (fail open) or its outcome is dropped. Without it a hung store would hold every
   * delivery for the SDK's retries × its request timeout before failing open.
   */
  storeBudgetMs: number;
}

export interface BreakerEvents {
  /** The store could not be read or written, or not within storeBudgetMs: the call went ahead (fail open). */
  storeFailed?(key: BreakerKey, error: unknown): void;
  /** The breaker changed phase (Closed → Open, Open → HalfOpen, HalfOpen → Closed …). */
  changed?(key: BreakerKey, from: BreakerPhase, to: BreakerPhase): void;
}

interface BreakerEntity {
  phase: BreakerPhase;
  consecutiveFailures: number;
  configVersion: number;
  openedAt?: string;
  probeId?: string;
  probeUntil?: string;
  lastFailureCode?: string;
  updatedAt: string;
}

// More than a few lost races for the probe in a row: other callers keep claiming it and one of them
// is the probe; this call stops spinning and is short-circuited.
const MAX_CONFLICTS = 5;

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
const ms = (text: string | undefined) => (text === undefined ? undefined : Date.parse(text));

function toState(entity: BreakerEntity): BreakerState {
  return dropUndefined({
    phase: entity.phase,
    consecutiveFailures: entity.consecutiveFailures,
    configVersion: entity.configVersion,
    openedAt: ms(entity.openedAt),
    probeId: entity.probeId,
    probeUntil: ms(entity.probeUntil),
    lastFailureCode: entity.lastFailureCode,
  });
}

function toEntity(state: BreakerState, now: number): BreakerEntity {
  return dropUndefined({
    phase: state.phase,
    consecutiveFailures: state.consecutiveFailures,
    configVersion: state.configVersion,
    openedAt: iso(state.openedAt),
    probeId: state.probeId,
    probeUntil: iso(state.probeUntil),
    lastFailureCode: state.lastFailureCode,
    updatedAt: new Date(now).toISOString(),
  });
}

function isConflict(error: unknown): boolean {
  const status = (error as { statusCode?: number } | null)?.statusCode;
  return status === 409 || status === 412;
}

/** Cockatiel's error, carrying when the row may replay: the retry job need not come back sooner. */
export function brokenCircuit(halfOpensInMs: number): BrokenCircuitError {
  return Object.assign(new BrokenCircuitError(), { retryAfterSeconds: Math.max(1, Math.ceil(halfOpensInMs / 1000)) });
}

type Read = { state?: BreakerState; etag?: string } | 'unreadable';

async function readRow(tables: TableProvider, tenantId: string, connectorId: string, signal?: AbortSignal): Promise<Exclude<Read, 'unreadable'>> {
  const client = await tables.table(TABLES.webhookBreakers);
  if (signal?.aborted) throw signal.reason;
  const entity = await getOrUndefined<BreakerEntity>(client, key(tenantId), key(connectorId), { abortSignal: signal });
  return entity ? { state: toState(entity), etag: entity.etag } : {};
}

/** The stored state of one breaker as it is now, for whoever inspects it (tests, an operator tool). */
export async function storedBreakerState(tables: TableProvider, tenantId: string, connectorId: string): Promise<BreakerState | undefined> {
  return (await readRow(tables, tenantId, connectorId)).state;
}

/** The circuit breaker per (tenant, connector), shared by every instance through Table Storage. */
export class SharedCircuitBreaker {
  constructor(
    private readonly tables: TableProvider,
    private readonly settings: SharedBreakerSettings,
    private readonly events: BreakerEvents = {},
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Lets the call through, or throws BrokenCircuitError without it reaching the partner. It goes
   * ahead without a verdict (fail open) only when the store cannot be read or written in time.
   */
  async admit(key: BreakerKey): Promise<BreakerTicket> {
    const probeId = randomUUID();
    return this.bounded(key, { key }, (signal) => this.decide(key, probeId, signal));
  }

  /** Counts the call's outcome; never throws (a lost update only delays opening or closing). */
  async record(ticket: BreakerTicket, outcome: Omit<CallOutcome, 'probeId'>): Promise<void> {
    const counted = { ...outcome, ...(ticket.probeId ? { probeId: ticket.probeId } : {}) };
    await this.bounded(ticket.key, undefined, async (signal) => {
      for (let conflicts = 0; conflicts < MAX_CONFLICTS && !signal.aborted; conflicts += 1) {
        const read = await this.read(ticket.key, signal);
        if (read === 'unreadable') return;
        const next = afterCall(read.state, ticket.key.configVersion, counted, this.now(), this.settings);
        if (!next) return;
        if ((await this.write(ticket.key, read, next, signal)) !== 'conflict') return;
      }
    });
  }

  /** Always from the state it read last: a lost race re-reads, and one lost too often is short-circuited. */
  private async decide(key: BreakerKey, probeId: string, signal: AbortSignal): Promise<BreakerTicket> {
    for (let conflicts = 0; ; conflicts += 1) {
      const read = await this.read(key, signal);
      if (read === 'unreadable') return { key };
      const now = this.now();
      const decision = admission(read.state, key.configVersion, now, this.settings, probeId);
      if (!decision.admit) throw brokenCircuit(decision.halfOpensAt - now);
      if (!decision.claim) return { key };
      // The winner's lease ends within probeLeaseMs: the row is worth replaying after that.
      if (conflicts >= MAX_CONFLICTS) throw brokenCircuit(this.settings.probeLeaseMs);
      const written = await this.write(key, read, decision.claim, signal);
      if (written === 'stored') return { key, probeId };
      if (written === 'failed') return { key };
    }
  }

  /**
   * Runs one admit or record within storeBudgetMs (cockatiel's aggressive timeout: it also abandons
   * what ignores the signal, such as the table's creation on first use). On expiry the store counts as
   * unavailable: reported once, and `onExpiry` is the answer.
   */
  private async bounded<T>(key: BreakerKey, onExpiry: T, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    try {
      return await timeout(this.settings.storeBudgetMs, TimeoutStrategy.Aggressive).execute(({ signal }) => work(signal));
    } catch (error) {
      if (!(error instanceof TaskCancelledError)) throw error;
      this.events.storeFailed?.(key, error);
      return onExpiry;
    }
  }

  private client(): Promise<TableClient> {
    return this.tables.table(TABLES.webhookBreakers);
  }

  private async read(breaker: BreakerKey, signal: AbortSignal): Promise<Read> {
    try {
      const read = await readRow(this.tables, breaker.tenantId, breaker.connectorId, signal);
      return signal.aborted ? 'unreadable' : read;
    } catch (error) {
      // Past the budget, bounded() has answered and reported already: this is its abort arriving.
      if (!signal.aborted) this.events.storeFailed?.(breaker, error);
      return 'unreadable';
    }
  }

  private async write(breaker: BreakerKey, read: Exclude<Read, 'unreadable'>, next: BreakerState, signal: AbortSignal): Promise<'stored' | 'conflict' | 'failed'> {
    const entity = { partitionKey: key(breaker.tenantId), rowKey: key(breaker.connectorId), ...toEntity(next, this.now()) };
    try {
      const client = await this.client();
      if (signal.aborted) return 'failed';
      if (read.etag) await client.updateEntity(entity, 'Replace', { etag: read.etag, abortSignal: signal });
      else await client.createEntity(entity, { abortSignal: signal });
    } catch (error) {
      if (isConflict(error)) return 'conflict';
      if (!signal.aborted) this.events.storeFailed?.(breaker, error);
      return 'failed';
    }
    const from = read.state?.configVersion === breaker.configVersion ? read.state.phase : 'Closed';
    if (from !== next.phase) this.events.changed?.(breaker, from, next.phase);
    return 'stored';
  }
}
