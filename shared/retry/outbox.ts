import type { ReplayPublisher } from '../messaging/replayPublisher';
import type { TransactionRecord } from '../storage/transactions';

export interface OutboxResult {
  sent: TransactionRecord[];
  failed: { records: TransactionRecord[]; error: unknown }[];
}

/**
 * Collects claimed rows and sends them as Timer job replays, `batchSize` rows per publisher call so a
 * crash mid-pass strands at most one batch. A batch that fails is reported, not retried: its rows are
 * leased, and the sweep sends them again (same message ids) once the lease runs out.
 */
export class ReplayOutbox {
  private pending: TransactionRecord[] = [];
  private readonly result: OutboxResult = { sent: [], failed: [] };

  constructor(
    private readonly publisher: ReplayPublisher,
    private readonly batchSize: number,
  ) {}

  async add(record: TransactionRecord): Promise<void> {
    this.pending.push(record);
    if (this.pending.length >= this.batchSize) await this.send();
  }

  async flush(): Promise<OutboxResult> {
    await this.send();
    return this.result;
  }

  private async send(): Promise<void> {
    const records = this.pending;
    this.pending = [];
    if (records.length === 0) return;
    try {
      await this.publisher.replay(records, 'Timer job');
      this.result.sent.push(...records);
    } catch (error) {
      this.result.failed.push({ records, error });
    }
  }
}
