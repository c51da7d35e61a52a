import { performance } from 'node:perf_hooks';

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across log entries. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

export type RequestOutcome = 'pending' | 'answered' | 'reset' | 'hang' | 'aborted';

export interface RequestLogEntry {
  seq: number;
  service: 'entra' | 'graph' | 'other';
  method: string;
  path: string;
  /** Lower-cased mailbox (UPN or id as sent) for Graph requests. */
  mailbox?: string;
  /** Token-request client id, or the app the bearer token was issued to. */
  clientId?: string;
  tenantId?: string;
  /** Arrival time (see nowMs). */
  receivedAt: number;
  /** When the answer was written, the socket reset, or the client gave up. */
  finishedAt?: number;
  /** HTTP status written; undefined while pending, for resets and hangs. */
  status?: number;
  outcome: RequestOutcome;
  /** Entra `error_codes[0]` as "AADSTSnnnn", or Graph `error.code`. */
  errorCode?: string;
  retryAfterSeconds?: number;
  /** Name of the injected fault, when one decided the answer. */
  fault?: string;
  transactionId?: string;
}

export interface RetryAfterObservation {
  mailbox: string;
  status: number;
  retryAfterSeconds: number;
  /** When the throttling answer was sent. */
  answeredAt: number;
  /** Arrival of the next request for the same mailbox, if any. */
  nextRequestAt?: number;
  /** nextRequestAt − answeredAt. */
  waitedMs?: number;
  /** waitedMs >= retryAfterSeconds·1000 (minus 50 ms for timer granularity). */
  honoured?: boolean;
}

export class RequestLog {
  private readonly entries: RequestLogEntry[] = [];
  private seq = 0;

  start(entry: Omit<RequestLogEntry, 'seq' | 'receivedAt' | 'outcome'>): RequestLogEntry {
    const full: RequestLogEntry = { ...entry, seq: ++this.seq, receivedAt: nowMs(), outcome: 'pending' };
    this.entries.push(full);
    return full;
  }

  list(filter: { service?: RequestLogEntry['service']; mailbox?: string } = {}): RequestLogEntry[] {
    const mailbox = filter.mailbox?.toLowerCase();
    return this.entries
      .filter((e) => (filter.service === undefined || e.service === filter.service) && (mailbox === undefined || e.mailbox === mailbox))
      .map((e) => ({ ...e }));
  }

  clear(): void {
    this.entries.length = 0;
  }

  /** For every answer that carried Retry-After, how long the client waited before its next request. */
  retryAfterObservations(mailbox?: string): RetryAfterObservation[] {
    const graph = this.list({ service: 'graph', ...(mailbox === undefined ? {} : { mailbox }) });
    const result: RetryAfterObservation[] = [];
    for (const entry of graph) {
      if (entry.retryAfterSeconds === undefined || entry.finishedAt === undefined || entry.mailbox === undefined) continue;
      const answeredAt = entry.finishedAt;
      const next = graph.find((e) => e.mailbox === entry.mailbox && e.receivedAt > answeredAt);
      const observation: RetryAfterObservation = {
        mailbox: entry.mailbox,
        status: entry.status ?? 0,
        retryAfterSeconds: entry.retryAfterSeconds,
        answeredAt,
      };
      if (next) {
        observation.nextRequestAt = next.receivedAt;
        observation.waitedMs = next.receivedAt - answeredAt;
        observation.honoured = observation.waitedMs >= entry.retryAfterSeconds * 1000 - 50;
      }
      result.push(observation);
    }
    return result;
  }
}
