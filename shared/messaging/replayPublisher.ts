import type { ServiceBusClient, ServiceBusMessage, ServiceBusSender } from '@azure/service-bus';
import { REPLAY_PROPERTIES } from '../pipeline/incoming';
import type { Source, TransactionRecord } from '../storage/transactions';

/** Re-enqueues rows as appointment messages: the retry sweep and the Errors page share it. */
export interface ReplayPublisher {
  replay(records: readonly TransactionRecord[], source: Source): Promise<{ enqueued: number }>;
}

/**
 * One id per (transaction, attempt): a double click, or the sweep and an operator replaying the same
 * attempt, produce the same message id, and the queue's duplicate detection keeps one.
 */
export function replayMessageId(record: TransactionRecord): string {
  return `${record.transactionId}:${record.attempts + 1}`;
}

export function replayMessage(record: TransactionRecord, source: Source): ServiceBusMessage {
  return {
    body: record.payload,
    contentType: 'application/json',
    messageId: replayMessageId(record),
    applicationProperties: { [REPLAY_PROPERTIES.transactionId]: record.transactionId, [REPLAY_PROPERTIES.source]: source },
  };
}

/** Sends replays to the appointments queue in as few batches as the size limit allows. */
export class ServiceBusReplayPublisher implements ReplayPublisher {
  private sender: ServiceBusSender | undefined;

  constructor(
    private readonly client: () => ServiceBusClient,
    private readonly queueName: string,
  ) {}

  async replay(records: readonly TransactionRecord[], source: Source): Promise<{ enqueued: number }> {
    if (records.length === 0) return { enqueued: 0 };
    this.sender ??= this.client().createSender(this.queueName);
    const sender = this.sender;
    let batch = await sender.createMessageBatch();
    for (const record of records) {
      const message = replayMessage(record, source);
      if (batch.tryAddMessage(message)) continue;
      if (batch.count === 0) throw new Error(`The message of transaction ${record.transactionId} is too large to replay.`);
      await sender.sendMessages(batch);
      batch = await sender.createMessageBatch();
      if (!batch.tryAddMessage(message)) throw new Error(`The message of transaction ${record.transactionId} is too large to replay.`);
    }
    if (batch.count > 0) await sender.sendMessages(batch);
    return { enqueued: records.length };
  }

  async close(): Promise<void> {
    await this.sender?.close();
    this.sender = undefined;
  }
}
