import { ServiceBusClient, type ServiceBusReceivedMessage } from '@azure/service-bus';
import type { ReplayPublisher } from '../../shared/messaging/replayPublisher';
import type { Log } from '../../shared/pipeline/report';
import { runRetrySweep, type SweepDependencies } from '../../shared/retry/sweep';
import type { SweepSummary } from '../../shared/retry/summary';
import type { Source, TransactionRecord } from '../../shared/storage/transactions';
import type { Telemetry, TelemetryProperties } from '../../shared/telemetry/telemetry';

export interface CapturedEvent {
  name: string;
  properties: TelemetryProperties;
  measurements?: Record<string, number>;
}

/** Telemetry that keeps what it was given, for tests that read events back without an ingestion sink. */
export class CapturingTelemetry implements Telemetry {
  readonly events: CapturedEvent[] = [];
  trackDiagnosis(): void {}
  trackEvent(name: string, properties: TelemetryProperties, measurements?: Record<string, number>): void {
    this.events.push({ name, properties, ...(measurements ? { measurements } : {}) });
  }
  async flush(): Promise<void> {}
  async shutdown(): Promise<void> {}
  named(name: string): CapturedEvent[] {
    return this.events.filter((e) => e.name === name);
  }
}

/** A publisher that records replays instead of sending them; `failures` makes the next calls throw. */
export class CapturingPublisher implements ReplayPublisher {
  readonly sent: { record: TransactionRecord; source: Source }[] = [];
  failures = 0;
  async replay(records: readonly TransactionRecord[], source: Source): Promise<{ enqueued: number }> {
    if (this.failures > 0) {
      this.failures -= 1;
      throw new Error('Service Bus is unavailable (test)');
    }
    this.sent.push(...records.map((record) => ({ record, source })));
    return { enqueued: records.length };
  }
  ids(): string[] {
    return this.sent.map((s) => s.record.transactionId).sort();
  }
}

export interface SweepRun {
  summary: SweepSummary;
  lines: string[];
}

/** One pass, with its log lines kept. */
export async function sweepOnce(deps: SweepDependencies, overrides: Partial<SweepDependencies> = {}): Promise<SweepRun> {
  const lines: string[] = [];
  const log: Log = {
    info: (...args) => lines.push(args.map(String).join(' ')),
    warn: (...args) => lines.push(args.map(String).join(' ')),
    error: (...args) => lines.push(args.map(String).join(' ')),
  };
  const summary = await runRetrySweep({ ...deps, ...overrides }, log);
  return { summary, lines };
}

export const minutesFromNow = (minutes: number): Date => new Date(Date.now() + minutes * 60_000);

export type Deliver = (body: unknown, meta: { messageId: string; deliveryCount: number; applicationProperties: Record<string, unknown> }) => Promise<void>;

/**
 * Receives every message waiting on the queue with the real ServiceBusReceiver and hands each to the
 * sync handler as the Functions host would (complete on success), until `count` were handled.
 */
export async function consumeReplays(connectionString: string, queue: string, count: number, deliver: Deliver): Promise<ServiceBusReceivedMessage[]> {
  const client = new ServiceBusClient(connectionString);
  const handled: ServiceBusReceivedMessage[] = [];
  try {
    const receiver = client.createReceiver(queue);
    const deadline = Date.now() + 10_000;
    while (handled.length < count && Date.now() < deadline) {
      for (const message of await receiver.receiveMessages(count - handled.length, { maxWaitTimeInMs: 1_000 })) {
        await deliver(message.body, {
          messageId: String(message.messageId),
          deliveryCount: (message.deliveryCount ?? 0) + 1,
          applicationProperties: (message.applicationProperties ?? {}) as Record<string, unknown>,
        });
        await receiver.completeMessage(message);
        handled.push(message);
      }
    }
    await receiver.close();
  } finally {
    await client.close();
  }
  return handled;
}
