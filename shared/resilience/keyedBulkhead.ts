import { bulkhead, type BulkheadPolicy } from 'cockatiel';

/** One cockatiel bulkhead per key (a mailbox), so one busy calendar never starves the others. */
export class KeyedBulkhead {
  private readonly policies = new Map<string, BulkheadPolicy>();
  private readonly inFlight = new Map<string, number>();
  private peak = 0;

  constructor(
    private readonly limit: number,
    private readonly queue = 10_000,
  ) {}

  async execute<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const normalized = key.toLowerCase();
    let policy = this.policies.get(normalized);
    if (!policy) {
      policy = bulkhead(this.limit, this.queue);
      this.policies.set(normalized, policy);
    }
    return policy.execute(async () => {
      const now = (this.inFlight.get(normalized) ?? 0) + 1;
      this.inFlight.set(normalized, now);
      this.peak = Math.max(this.peak, now);
      try {
        return await fn();
      } finally {
        this.inFlight.set(normalized, (this.inFlight.get(normalized) ?? 1) - 1);
      }
    });
  }

  /** Highest number of calls that ran at once for any single key: the benchmark reads it. */
  get peakConcurrency(): number {
    return this.peak;
  }
}
