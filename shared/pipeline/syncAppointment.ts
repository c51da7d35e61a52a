import { diagnose } from '../diagnostics/classifier';
import { WrongConnectorTypeError } from '../diagnostics/domainErrors';
import type { Diagnosis } from '../diagnostics/types';
import type { Deliverer, DeliveryResult } from '../connectors/delivery';
import { parseAppointmentMessage, rawBody, type AppointmentMessage } from '../messages/appointmentMessage';
import { replayWindowEnds } from '../retry/schedule';
import type { AppointmentVersionStore } from '../storage/appointmentVersions';
import { CONNECTOR_TYPES, type ConnectorStore, type ConnectorType, type StoredConnector } from '../storage/connectors';
import type { RetryIndexStore } from '../storage/retryIndex';
import type { StoredTransaction, TransactionRecord, TransactionStore } from '../storage/transactions';
import type { Telemetry, TelemetryProperties } from '../telemetry/telemetry';
import { checkConnector, diagnosisConnector, type GatePassed } from './connectorGate';
import { isRecordedReplay, looseTenantId, sourceOf, transactionIdOf, type IncomingMessage } from './incoming';
import { recordAttempt, type AttemptOutcome } from './recordAttempt';
import { reportDiagnosis, type Log } from './report';

export interface SyncDependencies {
  connectors: ConnectorStore;
  transactions: TransactionStore;
  /** kept in step with every row the pipeline writes, so the retry sweep finds what is due */
  retryIndex: RetryIndexStore;
  versions: AppointmentVersionStore;
  deliverers: Partial<Record<ConnectorType, Deliverer>>;
  telemetry: Telemetry;
  now?: () => Date;
}

/**
 * Thrown when the outcome cannot be stored: the trigger must not complete the message, so Service
 * Bus delivers it again once storage is back. Nothing is lost, and nothing is recorded twice.
 */
export class StorageUnavailableError extends Error {
  constructor(
    readonly diagnosis: Diagnosis,
    options: { cause: unknown },
  ) {
    super(diagnosis.message, options);
    this.name = 'StorageUnavailableError';
  }
}

const isStorageDiagnosis = (d: Diagnosis): boolean => d.code.startsWith('DSDB');

/** Why the retry job may no longer replay this row (undefined: it may). */
function retryJobGaveUp(record: TransactionRecord, now: Date): string | undefined {
  if (record.expired) return `the retry sweep gave up on the row (${record.givenUpReason ?? 'window-ended'})`;
  if (record.firstFailureAt !== undefined && now >= replayWindowEnds(new Date(record.firstFailureAt))) return `its retry window ended (first failure ${record.firstFailureAt})`;
  return undefined;
}

function isSettled(record: TransactionRecord): boolean {
  return record.status === 'Succeeded' || record.status === 'Superseded' || record.retryClass === 'n/a';
}

/**
 * One appointment message, start to finish: parse ▸ claim its version ▸ pass the connector gate ▸
 * deliver ▸ record the row ▸ report. Every outcome ends as exactly one transaction row.
 */
export async function syncAppointment(incoming: IncomingMessage, deps: SyncDependencies, log: Log): Promise<TransactionRecord> {
  const run = new SyncRun(incoming, deps, log);
  let mustFlush = true;
  try {
    const record = await run.execute();
    mustFlush = run.reported;
    return record;
  } finally {
    // The flush is awaited whenever this invocation reported a diagnosis (or threw): those items must
    // reach Application Insights even if the host freezes or recycles the process right after. A run
    // that only succeeded (or had nothing to do) tracked at most its AppointmentSynced event: awaiting
    // an HTTPS POST for it on every message cost ~0.9 ms, about a quarter of the I/O a sync needs
    // (docs/performance.md). The exporter's batch sends it within a second while the app keeps
    // running between invocations, the next flush (any failure, the retry sweep) sends it with its
    // own items, and the appTerminate hook (functions/syncAppointment) flushes before the host stops.
    if (mustFlush) await deps.telemetry.flush().catch((error: unknown) => log.warn(`telemetry flush failed: ${String(error)}`));
  }
}

class SyncRun {
  private readonly raw: string;
  private readonly transactionId: string;
  private readonly source;
  private readonly now: () => Date;
  private properties: TelemetryProperties;
  /** the row as read at the start of this run (null: absent), so recording it does not read it again */
  private known: StoredTransaction | null | undefined;
  /** a diagnosis went to telemetry in this run: the invocation must not end before it is flushed */
  reported = false;

  constructor(
    private readonly incoming: IncomingMessage,
    private readonly deps: SyncDependencies,
    private readonly log: Log,
  ) {
    this.raw = rawBody(incoming.body);
    this.transactionId = transactionIdOf(incoming, this.raw);
    this.source = sourceOf(incoming);
    this.now = deps.now ?? (() => new Date());
    this.properties = { transactionId: this.transactionId, source: this.source };
  }

  async execute(): Promise<TransactionRecord> {
    let message: AppointmentMessage;
    try {
      message = parseAppointmentMessage(this.incoming.body);
    } catch (error) {
      const diagnosis = diagnose(error);
      const tenantId = looseTenantId(this.raw);
      this.properties = { ...this.properties, tenantId };
      return this.finish({ ...this.base(tenantId), status: diagnosis.status, message: diagnosis.message, code: diagnosis.code, retryClass: diagnosis.retry }, diagnosis);
    }

    this.properties = {
      ...this.properties,
      tenantId: message.tenantId,
      connectorId: message.connectorId,
      appointmentId: message.appointmentId,
      appointmentVersion: String(message.appointmentVersion),
      action: message.action,
    };
    const ids = { ...this.base(message.tenantId), connectorId: message.connectorId, appointmentId: message.appointmentId, appointmentVersion: message.appointmentVersion, action: message.action };

    // The three reads that decide whether and how to deliver are independent: they go out together
    // (one storage round-trip on the message's path instead of four) and are looked at in order, so
    // a result that ends the run early leaves the others unread (their failures included).
    const { tenantId, connectorId, appointmentId, appointmentVersion } = message;
    const existingRead = this.deps.transactions.get(tenantId, this.transactionId);
    // Claiming a version a settled redelivery already claimed changes nothing (same version: no write).
    const claimRead = this.deps.versions.claim(tenantId, connectorId, appointmentId, appointmentVersion, { expectNew: message.action === 'create' });
    const connectorRead = this.deps.connectors.get(tenantId, connectorId);
    for (const pending of [existingRead, claimRead, connectorRead]) pending.catch(() => undefined);
    // The deliverer's own first reads (Exchange: the event mappings) need only the message: they go
    // out in the same round-trip. Read-only, and simply dropped if the run ends before delivering.
    const prefetched = this.prefetch(message);

    const existing = await this.storage(() => existingRead);
    this.known = existing ?? null;
    if (existing && this.source === 'Service' && isSettled(existing.record)) {
      this.log.info(`transactionId=${this.transactionId} redelivered after it settled (${existing.record.status}); nothing to do.`);
      return existing.record;
    }
    if (existing && isRecordedReplay(this.incoming, existing.record)) {
      this.log.info(`transactionId=${this.transactionId} replay ${this.incoming.messageId} was already recorded (attempt ${existing.record.attempts}); nothing to do.`);
      return existing.record;
    }
    // A Timer job replay that waited in the queue while its row expired (or its window ended before the
    // sweep marked it) must not deliver: the retry job gave up on the row. An operator's Website replay may.
    const retryEnded = existing && this.source === 'Timer job' ? retryJobGaveUp(existing.record, this.now()) : undefined;
    if (retryEnded) {
      this.log.info(`transactionId=${this.transactionId} Timer job replay ${this.incoming.messageId ?? ''} dropped: ${retryEnded}; nothing sent, nothing recorded.`);
      return existing!.record;
    }

    const claim = await this.storage(() => claimRead);
    if (!claim.claimed) {
      const text = `Superseded: version ${message.appointmentVersion} arrived after version ${claim.latestVersion} was taken up; nothing was sent.`;
      return this.finish({ ...ids, status: 'Superseded', message: text });
    }

    let gate: GatePassed;
    let stored: StoredConnector | undefined;
    try {
      stored = await connectorRead;
      gate = checkConnector(message, stored);
    } catch (error) {
      const diagnosis = this.storageAware(diagnose(error, { connector: diagnosisConnector(message, undefined) }), error);
      // The version the connector had (0: there was none) lets the retry sweep replay this row once it is fixed.
      const configVersion = stored?.configVersion ?? 0;
      return this.finish({ ...ids, configVersion, status: diagnosis.status, message: diagnosis.message, code: diagnosis.code, retryClass: diagnosis.retry }, diagnosis);
    }
    const { connector, type } = gate;
    this.properties = { ...this.properties, connectorType: type, attempt: String((existing?.record.attempts ?? 0) + 1) };
    const withConnector = { ...ids, connectorType: type, configVersion: connector.configVersion };

    const result = await this.deliver(type, message, connector, (existing?.record.attempts ?? 0) + 1, prefetched[type]);
    if (result.outcome === 'succeeded') {
      const record = await this.finish({ ...withConnector, status: 'Succeeded', message: result.detail });
      this.deps.telemetry.trackEvent('AppointmentSynced', this.properties);
      this.log.info(`transactionId=${this.transactionId} Succeeded ${result.detail}`);
      return record;
    }
    const diagnosis = this.storageAware(result.diagnosis, result.diagnosis);
    return this.finish(
      { ...withConnector, status: diagnosis.status, message: diagnosis.message, code: diagnosis.code, retryClass: diagnosis.retry, retryAfterSeconds: diagnosis.retryAfterSeconds },
      diagnosis,
    );
  }

  private base(tenantId: string): Pick<AttemptOutcome, 'tenantId' | 'transactionId' | 'source' | 'payload'> {
    return { tenantId, transactionId: this.transactionId, source: this.source, payload: this.raw };
  }

  /**
   * Starts the prefetch of the deliverer the message names, or — as the connector's type is not
   * known yet — of each deliverer that has one when it names none (the Exchange one reads only for
   * resources flagged for Exchange, so a webhook message costs nothing).
   */
  private prefetch(message: AppointmentMessage): Partial<Record<ConnectorType, unknown>> {
    const out: Partial<Record<ConnectorType, unknown>> = {};
    for (const type of CONNECTOR_TYPES) {
      if (message.connectorType !== undefined && message.connectorType !== type) continue;
      const deliverer = this.deps.deliverers[type];
      try {
        if (deliverer?.prefetch) out[type] = deliverer.prefetch(message);
      } catch {
        // an optimisation only: without it the deliverer reads for itself
      }
    }
    return out;
  }

  private async deliver(type: ConnectorType, message: AppointmentMessage, connector: Parameters<Deliverer['deliver']>[0]['connector'], attempt: number, prefetched: unknown): Promise<DeliveryResult> {
    const deliverer = this.deps.deliverers[type];
    if (!deliverer) {
      return { outcome: 'failed', diagnosis: diagnose(new WrongConnectorTypeError('a type this app delivers to', type)) };
    }
    return deliverer.deliver({ message, connector, transactionId: this.transactionId, attempt, prefetched });
  }

  /** Records the attempt, then reports it; a row that cannot be written fails the invocation. */
  private async finish(outcome: AttemptOutcome, diagnosis?: Diagnosis): Promise<TransactionRecord> {
    const record = await this.storage(() => recordAttempt(this.deps, outcome, this.now, this.known));
    if (diagnosis) this.report(diagnosis);
    return record;
  }

  private report(diagnosis: Diagnosis): void {
    this.reported = true;
    reportDiagnosis(this.log, this.deps.telemetry, diagnosis, this.properties);
  }

  /** A storage failure is never a transaction outcome: report it and let Service Bus redeliver. */
  private storageAware(diagnosis: Diagnosis, cause: unknown): Diagnosis {
    if (!isStorageDiagnosis(diagnosis)) return diagnosis;
    this.report(diagnosis);
    throw new StorageUnavailableError(diagnosis, { cause });
  }

  private async storage<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      if (error instanceof StorageUnavailableError) throw error;
      const diagnosis = diagnose(error, { stage: 'record' });
      this.report(diagnosis);
      throw new StorageUnavailableError(diagnosis, { cause: error });
    }
  }
}
