import type { Settings } from '../config/settings';
import type { ReplayPublisher } from '../messaging/replayPublisher';
import type { Log } from '../pipeline/report';
import type { AppointmentVersionStore } from '../storage/appointmentVersions';
import type { ConnectorStore } from '../storage/connectors';
import { key } from '../storage/tableClients';
import type { RetryIndexStore, StoredIndexEntry } from '../storage/retryIndex';
import type { GiveUpReason, TransactionRecord, TransactionStore } from '../storage/transactions';
import type { Telemetry } from '../telemetry/telemetry';
import { candidateSources, type Candidate, type CandidateSources } from './candidates';
import { decide, type SkipReason } from './dueRules';
import { saveIndexed } from './indexedSave';
import { indexEntriesFor, isIndexed, sameKey } from './indexKeys';
import { ReplayOutbox, type OutboxResult } from './outbox';
import { emptySummary, reportSweep, type SweepSummary } from './summary';

export interface SweepDependencies {
  transactions: TransactionStore;
  retryIndex: RetryIndexStore;
  connectors: ConnectorStore;
  versions: AppointmentVersionStore;
  replayPublisher: ReplayPublisher;
  telemetry: Telemetry;
  settings: Pick<Settings, 'RETRY_SWEEP_MAX_ROWS' | 'RETRY_SWEEP_MAX_SECONDS' | 'RETRY_SWEEP_LEASE_MINUTES'>;
  now?: () => Date;
}

/** Rows looked at in parallel: each costs a few storage round trips, none of them heavy. */
const CONCURRENCY = 16;
/** Replays per send; the publisher splits further by the queue's batch size limit. */
const SEND_BATCH = 100;
/**
 * An entry for a later attempt than the row holds is being written right now (entries go in before
 * the row); it is left alone unless it is older than this, i.e. its write failed and nothing follows.
 */
const IN_FLIGHT_GRACE_MS = 10 * 60 * 1000;

export const RETRY_GIVEN_UP_EVENT = 'RetryGivenUp';

/** One pass of the retry sweep: bounded, logged, and safe to run twice at once. */
export async function runRetrySweep(deps: SweepDependencies, log: Log): Promise<SweepSummary> {
  const pass = new SweepPass(deps, log);
  try {
    return await pass.run();
  } finally {
    await deps.telemetry.flush().catch((error: unknown) => log.warn(`telemetry flush failed: ${String(error)}`));
  }
}

class SweepPass {
  private readonly clock: () => Date;
  private readonly now: Date;
  private readonly deadline: number;
  private readonly summary = emptySummary();
  private readonly outbox: ReplayOutbox;
  private readonly latestVersions = new Map<string, Promise<number | undefined>>();
  /**
   * Connectors not to record as swept: one of their entries failed, or was taken off the sources but
   * not examined (the entry a bounded pass peeked at). The next pass looks at them again.
   */
  private readonly troubled = new Set<string>();
  private sources!: CandidateSources;
  private started = 0;
  /** the one look past the bound that tells whether entries were left (shared by every worker) */
  private peeked: Promise<void> | undefined;

  constructor(
    private readonly deps: SweepDependencies,
    private readonly log: Log,
  ) {
    this.clock = deps.now ?? (() => new Date());
    this.now = this.clock();
    this.deadline = this.now.getTime() + deps.settings.RETRY_SWEEP_MAX_SECONDS * 1000;
    this.outbox = new ReplayOutbox(deps.replayPublisher, SEND_BATCH);
  }

  async run(): Promise<SweepSummary> {
    this.sources = await candidateSources(this.deps.retryIndex, this.deps.connectors, this.now);
    this.summary.connectorsLookedAt = this.sources.connectorsLookedAt;
    const iterator = this.sources.candidates[Symbol.asyncIterator]();
    await Promise.all(Array.from({ length: CONCURRENCY }, () => this.work(iterator)));
    this.settleSends(await this.outbox.flush());
    await this.recordDrainedConnectors();
    this.summary.durationMs = this.clock().getTime() - this.now.getTime();
    reportSweep(this.log, this.deps.telemetry, this.summary);
    return this.summary;
  }

  private async work(iterator: AsyncIterator<Candidate>): Promise<void> {
    for (;;) {
      if (this.started >= this.deps.settings.RETRY_SWEEP_MAX_ROWS || this.clock().getTime() >= this.deadline) {
        this.peeked ??= this.peekPastBound(iterator);
        return this.peeked;
      }
      this.started += 1; // taken before the await, so parallel workers never overshoot the bound
      const step = await iterator.next();
      if (step.done) return;
      this.summary.due += 1;
      try {
        await this.examine(step.value.entry);
      } catch (error) {
        this.summary.failed += 1;
        if (step.value.connector) this.troubled.add(key(step.value.connector.tenantId, step.value.connector.connectorId));
        this.log.error(`Retry sweep: transactionId=${step.value.entry.transactionId} tenantId=${step.value.entry.tenantId} could not be handled: ${String(error)}`);
      }
    }
  }

  /**
   * Only an entry left behind makes the pass truncated, so the sources are advanced once more, by one
   * worker for all. That entry is not examined: it stays indexed for the next pass, and its connector
   * is not recorded as swept. (Advancing may finish the sources of the connector before it: that one
   * had every entry handed to a worker and examined, so it is rightly recorded.)
   */
  private async peekPastBound(iterator: AsyncIterator<Candidate>): Promise<void> {
    const step = await iterator.next();
    if (step.done) return;
    this.summary.truncated = true;
    const { connector } = step.value;
    if (connector) this.troubled.add(key(connector.tenantId, connector.connectorId));
  }

  /** Acts on the row as it is now (read with its ETag), never on what the entry remembers. */
  private async examine(entry: StoredIndexEntry): Promise<void> {
    const found = await this.deps.transactions.get(entry.tenantId, entry.transactionId);
    if (!found) {
      if (this.mayDelete(entry, undefined)) await this.deps.retryIndex.remove([entry]);
      return this.skip('missing-row');
    }
    const { record, etag } = found;
    if (isIndexed(record) && !indexEntriesFor(record).some((k) => sameKey(k, entry))) return this.tidyStale(entry, record);

    const decision = decide(record, {
      now: this.now,
      connectorVersion: record.connectorId === undefined ? undefined : this.sources.connectorVersion(record.tenantId, record.connectorId),
      latestAppointmentVersion: isIndexed(record) ? await this.latestVersion(record) : undefined,
    });
    if (decision.action === 'replay') return this.claim(record, etag);
    if (decision.action === 'expire') return this.giveUp(record, etag, 'window-ended');
    // Nothing left to replay: given up like an expired row (kept, marked, reported), counted under its reason.
    if (decision.reason === 'superseded' || decision.reason === 'no-payload') return this.giveUp(record, etag, decision.reason);
    // A row that will never be due again leaves the index; one that is not due yet keeps its entries.
    if (decision.reason !== 'not-due') {
      await this.deps.retryIndex.remove([...indexEntriesFor(record), ...(this.mayDelete(entry, record) ? [entry] : [])]);
    }
    return this.skip(decision.reason);
  }

  /**
   * Leases the row under its ETag, then queues its replay: of two overlapping passes only one wins the
   * ETag, so a row is enqueued once. The lease (nextAttemptAt) brings it back if the replay is lost.
   */
  private async claim(record: TransactionRecord, etag: string): Promise<void> {
    const leaseEnds = new Date(this.now.getTime() + this.deps.settings.RETRY_SWEEP_LEASE_MINUTES * 60_000);
    const leased: TransactionRecord = { ...record, nextAttemptAt: leaseEnds.toISOString(), replayQueuedAt: this.now.toISOString() };
    if (!(await this.saveUnlessChanged(record, leased, etag))) return this.skip('claimed-elsewhere');
    await this.outbox.add(leased);
  }

  /**
   * The sweep will never replay this row: past its window, superseded by a newer version of its
   * appointment, or without a message to replay. Keep the row, mark it expired with the reason (the
   * Errors API shows both), drop its index entries, and say so with its errorCode. A row past its
   * window counts as `expired`; the others count as skipped under their reason.
   */
  private async giveUp(record: TransactionRecord, etag: string, reason: GiveUpReason): Promise<void> {
    const givenUp: TransactionRecord = { ...record, expired: true, givenUpReason: reason, nextAttemptAt: undefined, replayQueuedAt: undefined };
    if (!(await this.saveUnlessChanged(record, givenUp, etag))) return this.skip('claimed-elsewhere');
    if (reason === 'window-ended') this.summary.expired += 1;
    else this.skip(reason);
    const properties = {
      errorCode: record.code ?? '',
      status: record.status,
      retryClass: record.retryClass ?? '',
      transactionId: record.transactionId,
      tenantId: record.tenantId,
      connectorId: record.connectorId ?? '',
      firstFailureAt: record.firstFailureAt ?? '',
      attempts: String(record.attempts),
      reason,
    };
    const why = {
      'window-ended': `retry window ended (first failure ${properties.firstFailureAt}, ${record.attempts} attempts)`,
      superseded: `superseded: a newer version of appointment ${record.appointmentId ?? ''} than v${record.appointmentVersion ?? '?'} was taken up (${record.attempts} attempts)`,
      'no-payload': `no stored message to replay (${record.attempts} attempts)`,
    }[reason];
    this.log.warn(
      `errorCode=${properties.errorCode} status=${record.status} transactionId=${record.transactionId} tenantId=${record.tenantId} ` +
        `${why}: the row is kept, marked expired (givenUpReason=${reason}), and not replayed again.`,
    );
    this.deps.telemetry.trackEvent(RETRY_GIVEN_UP_EVENT, properties);
  }

  /** A 412/409 means someone else changed the row since we read it: their state wins. */
  private async saveUnlessChanged(before: TransactionRecord, after: TransactionRecord, etag: string): Promise<boolean> {
    try {
      await saveIndexed(this.deps, before, after, etag);
      return true;
    } catch (error) {
      const status = (error as { statusCode?: number }).statusCode;
      if (status === 412 || status === 409) return false;
      throw error;
    }
  }

  /** The entry no longer matches the row: make sure the row's own entries exist, drop this one. */
  private async tidyStale(entry: StoredIndexEntry, record: TransactionRecord): Promise<void> {
    await this.deps.retryIndex.upsert(indexEntriesFor(record));
    if (this.mayDelete(entry, record)) await this.deps.retryIndex.remove([entry]);
    this.skip('stale-entry');
  }

  private mayDelete(entry: StoredIndexEntry, record: TransactionRecord | undefined): boolean {
    if (record && entry.attempts <= record.attempts) return true;
    return entry.writtenAt === undefined || entry.writtenAt.getTime() < this.now.getTime() - IN_FLIGHT_GRACE_MS;
  }

  private latestVersion(record: TransactionRecord): Promise<number | undefined> {
    if (record.connectorId === undefined || record.appointmentId === undefined) return Promise.resolve(undefined);
    const cacheKey = key(record.tenantId, record.connectorId, record.appointmentId);
    let pending = this.latestVersions.get(cacheKey);
    if (!pending) {
      pending = this.deps.versions.latest(record.tenantId, record.connectorId, record.appointmentId);
      this.latestVersions.set(cacheKey, pending);
    }
    return pending;
  }

  private skip(reason: SkipReason): void {
    this.summary.skipped[reason] = (this.summary.skipped[reason] ?? 0) + 1;
  }

  private settleSends(result: OutboxResult): void {
    this.summary.enqueued = result.sent.length;
    for (const { records, error } of result.failed) {
      this.summary.failed += records.length;
      for (const r of records) if (r.connectorId) this.troubled.add(key(r.tenantId, r.connectorId));
      this.log.error(`Retry sweep: ${records.length} replays could not be sent; they go again when their lease ends: ${String(error)}`);
    }
  }

  /** Connectors whose every other-version row was handled need no look until their version changes. */
  private async recordDrainedConnectors(): Promise<void> {
    const sweptAt = this.now.toISOString();
    const done = this.sources.drained.filter((c) => !this.troubled.has(key(c.tenantId, c.connectorId)));
    await Promise.all(done.map((c) => this.deps.retryIndex.recordConfigSweep(c.tenantId, c.connectorId, { version: c.configVersion, sweptAt })));
  }
}
