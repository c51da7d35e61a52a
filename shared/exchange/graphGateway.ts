import type { Client } from '@microsoft/microsoft-graph-client';
import { DelegateBackoff, handleWhen, retry, type RetryPolicy } from 'cockatiel';
import { extractFacts } from '../diagnostics/facts';
import { KeyedBulkhead } from '../resilience/keyedBulkhead';
import { GraphTransport } from './graphTransport';

export interface GraphEvent {
  subject: string;
  body?: { contentType: 'text' | 'html'; content: string };
  start: { dateTime: string; timeZone: string };
  end: { dateTime: string; timeZone: string };
  location?: { displayName: string };
  isAllDay?: boolean;
  /** Graph drops a second create with the same transactionId: what makes a re-POST safe */
  transactionId?: string;
}

export interface GraphCall {
  baseUrl: string;
  accessToken: string;
  mailbox: string;
}

/** The three calendar writes the connector needs; tests and benchmarks swap the implementation. */
export interface CalendarGateway {
  createEvent(call: GraphCall, event: GraphEvent): Promise<{ id?: string }>;
  updateEvent(call: GraphCall, eventId: string, event: Partial<GraphEvent>): Promise<void>;
  deleteEvent(call: GraphCall, eventId: string): Promise<void>;
}

export interface GraphGatewayOptions {
  requestTimeoutMs: number;
  maxConcurrencyPerMailbox: number;
  /** attempts within one invocation, first included */
  maxAttempts?: number;
  /**
   * A Retry-After longer than this is not waited for here: the row is retried later instead.
   * Default DEFAULT_MAX_RETRY_AFTER_SECONDS; tests pass a smaller one to keep real-time waits short.
   */
  maxRetryAfterSeconds?: number;
  /** base of the jittered exponential backoff between attempts without a Retry-After; default DEFAULT_BASE_DELAY_MS */
  baseDelayMs?: number;
}

export const DEFAULT_MAX_RETRY_AFTER_SECONDS = 20;
export const DEFAULT_BASE_DELAY_MS = 500;

const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504]);

/**
 * A request not sent because Graph told us to leave this mailbox alone for longer than an invocation
 * waits: diagnosed like the 429 it stands for (transient, with its Retry-After), so the row is retried.
 */
export class MailboxThrottledError extends Error {
  readonly statusCode = 429;
  constructor(
    mailbox: string,
    readonly retryAfterSeconds: number,
  ) {
    super(`Microsoft Graph throttled mailbox ${mailbox}; not sent, Retry-After ${retryAfterSeconds} s`);
    this.name = 'MailboxThrottledError';
  }
}

function isRetryable(error: unknown, maxRetryAfterSeconds: number): boolean {
  const f = extractFacts(error);
  if (f.retryAfterSeconds !== undefined && f.retryAfterSeconds > maxRetryAfterSeconds) return false;
  return (f.httpStatus !== undefined && RETRYABLE_STATUS.has(f.httpStatus)) || f.networkCode !== undefined || f.timeout;
}

/**
 * Graph through @microsoft/microsoft-graph-client with a retry policy we own: the client's default
 * RetryHandler re-POSTs blindly and sleeps ~17 s on a 503. Here a create is only retried because it
 * carries a transactionId, Retry-After is honoured, and each attempt holds a per-mailbox slot.
 */
export class GraphCalendarGateway implements CalendarGateway {
  readonly bulkhead: KeyedBulkhead;
  private readonly policy: RetryPolicy;
  /** mailbox → end of the last Retry-After Graph gave for it (epoch ms) */
  private readonly pausedUntil = new Map<string, number>();
  private readonly maxRetryAfterSeconds: number;

  constructor(private readonly options: GraphGatewayOptions) {
    this.bulkhead = new KeyedBulkhead(options.maxConcurrencyPerMailbox);
    const maxRetryAfter = options.maxRetryAfterSeconds ?? DEFAULT_MAX_RETRY_AFTER_SECONDS;
    this.maxRetryAfterSeconds = maxRetryAfter;
    const base = options.baseDelayMs ?? DEFAULT_BASE_DELAY_MS;
    this.policy = retry(
      handleWhen((error) => isRetryable(error, maxRetryAfter)),
      {
        maxAttempts: (options.maxAttempts ?? 3) - 1,
        backoff: new DelegateBackoff((context) => {
          const result = context.result as { error?: unknown };
          const retryAfter = 'error' in result ? extractFacts(result.error).retryAfterSeconds : undefined;
          if (retryAfter !== undefined) return retryAfter * 1000;
          // full jitter keeps a burst of throttled calls from retrying in lockstep
          return Math.random() * Math.min(8_000, base * 2 ** (context.attempt - 1));
        }),
      },
    );
  }

  private client(call: GraphCall): Client {
    // Loaded on first use rather than at the app's start-up (see bench/coldStart.ts).
    const { Client } = require('@microsoft/microsoft-graph-client') as typeof import('@microsoft/microsoft-graph-client');
    return Client.initWithMiddleware({
      baseUrl: call.baseUrl.endsWith('/') ? call.baseUrl : `${call.baseUrl}/`,
      defaultVersion: 'v1.0',
      middleware: new GraphTransport(call.accessToken, this.options.requestTimeoutMs),
    });
  }

  private run<T>(call: GraphCall, fn: (client: Client) => Promise<T>): Promise<T> {
    const client = this.client(call);
    const mailbox = call.mailbox.toLowerCase();
    return this.policy.execute(() =>
      this.bulkhead.execute(mailbox, async () => {
        await this.waitOutRetryAfter(mailbox);
        try {
          return await fn(client);
        } catch (error) {
          this.noteRetryAfter(mailbox, error);
          throw error;
        }
      }),
    );
  }

  /**
   * Graph's Retry-After holds for the mailbox (app + mailbox is what Outlook throttles), not only for
   * the request that got it: every request to that mailbox waits it out. One longer than this
   * invocation will wait for fails at once, as the 429 itself would have, and the row is retried later.
   */
  private async waitOutRetryAfter(mailbox: string): Promise<void> {
    for (;;) {
      const until = this.pausedUntil.get(mailbox);
      const remaining = until === undefined ? 0 : until - Date.now();
      if (remaining <= 0) {
        if (until !== undefined) this.pausedUntil.delete(mailbox);
        return;
      }
      if (remaining > this.maxRetryAfterSeconds * 1000) throw new MailboxThrottledError(mailbox, Math.ceil(remaining / 1000));
      await new Promise((resolve) => setTimeout(resolve, remaining));
    }
  }

  private noteRetryAfter(mailbox: string, error: unknown): void {
    const facts = extractFacts(error);
    if (facts.retryAfterSeconds === undefined || (facts.httpStatus !== 429 && facts.httpStatus !== 503)) return;
    const until = Date.now() + facts.retryAfterSeconds * 1000;
    if (until > (this.pausedUntil.get(mailbox) ?? 0)) this.pausedUntil.set(mailbox, until);
  }

  private eventsPath(call: GraphCall): string {
    return `/users/${encodeURIComponent(call.mailbox)}/events`;
  }

  createEvent(call: GraphCall, event: GraphEvent): Promise<{ id?: string }> {
    if (!event.transactionId) throw new Error('A Graph event create must carry a transactionId so a retry cannot duplicate it.');
    return this.run(call, (client) => client.api(this.eventsPath(call)).post(event) as Promise<{ id?: string }>);
  }

  async updateEvent(call: GraphCall, eventId: string, event: Partial<GraphEvent>): Promise<void> {
    await this.run(call, (client) => client.api(`${this.eventsPath(call)}/${encodeURIComponent(eventId)}`).patch(event));
  }

  async deleteEvent(call: GraphCall, eventId: string): Promise<void> {
    await this.run(call, (client) => client.api(`${this.eventsPath(call)}/${encodeURIComponent(eventId)}`).delete());
  }
}
