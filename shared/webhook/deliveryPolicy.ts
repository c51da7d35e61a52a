import {
  ExponentialBackoff,
  handleWhen,
  retry,
  timeout,
  TimeoutStrategy,
  wrap,
  type IBackoff,
  type IBackoffFactory,
  type IRetryBackoffContext,
} from 'cockatiel';
import { PartnerHttpError } from '../diagnostics/domainErrors';
import { isTransientStatus } from '../diagnostics/rules/rule';
import { PartnerNetworkError } from './partnerCall';

export interface DeliveryPolicyOptions {
  /** per attempt; expiry is DSWBHK010 */
  attemptTimeoutMs: number;
  /** attempts in this invocation, the first included */
  maxAttempts: number;
  /** first backoff delay; later ones grow exponentially with decorrelated jitter */
  baseDelayMs: number;
  /** the whole delivery, waits included: the invocation (and the message lock) must not outlive it */
  budgetMs: number;
}

// The jittered delay never exceeds this multiple of the base: waiting longer belongs to the retry job.
const MAX_DELAY_FACTOR = 16;

/**
 * Worth another attempt in this invocation: 408/429/5xx answers and connections that failed without
 * an answer. A timeout is not: the partner may still be working on the request, and a hung endpoint
 * would hold the invocation for attempts × timeout; the row is retried by the retry job (DSWBHK010).
 */
export function isTransient(error: unknown): boolean {
  if (error instanceof PartnerHttpError) return isTransientStatus(error.status);
  return error instanceof PartnerNetworkError;
}

function retryAfterMs(error: unknown): number | undefined {
  return error instanceof PartnerHttpError && error.retryAfterSeconds !== undefined ? error.retryAfterSeconds * 1000 : undefined;
}

/** The time left in one delivery: a retry only starts if its wait and a full attempt still fit. */
export class DeliveryBudget {
  private readonly deadline: number;

  constructor(
    budgetMs: number,
    private readonly attemptTimeoutMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.deadline = now() + budgetMs;
  }

  /** How long we may wait before the next attempt must start. */
  room(): number {
    return this.deadline - this.now() - this.attemptTimeoutMs;
  }

  allowsWait(ms: number): boolean {
    return ms <= this.room();
  }
}

/**
 * Cockatiel's exponential backoff with decorrelated jitter, except that a partner's Retry-After wins
 * (the retry predicate already refused a Retry-After the budget cannot honour), and a jittered wait is
 * cut to what the budget has room for.
 */
export function budgetedBackoff(jitter: IBackoffFactory<unknown>, budget: DeliveryBudget): IBackoffFactory<IRetryBackoffContext<unknown>> {
  const step = (current: IBackoff<unknown>, context: IRetryBackoffContext<unknown>): IBackoff<IRetryBackoffContext<unknown>> => {
    const asked = 'error' in context.result ? retryAfterMs(context.result.error) : undefined;
    return {
      duration: asked ?? Math.max(0, Math.min(current.duration, budget.room())),
      next: (nextContext) => step(current.next(undefined), nextContext),
    };
  };
  return { next: (context) => step(jitter.next(undefined), context) };
}

/** Retry (outside) around a per-attempt timeout (inside), built per delivery because the budget is. */
export function deliveryPolicy(options: DeliveryPolicyOptions, now: () => number = Date.now) {
  const budget = new DeliveryBudget(options.budgetMs, options.attemptTimeoutMs, now);
  const jitter = new ExponentialBackoff({ initialDelay: options.baseDelayMs, maxDelay: options.baseDelayMs * MAX_DELAY_FACTOR });
  const retries = retry(
    handleWhen((error) => isTransient(error) && budget.allowsWait(retryAfterMs(error) ?? 0)),
    { maxAttempts: Math.max(0, options.maxAttempts - 1), backoff: budgetedBackoff(jitter, budget) },
  );
  return wrap(retries, timeout(options.attemptTimeoutMs, TimeoutStrategy.Aggressive));
}
