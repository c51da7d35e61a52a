import { TaskCancelledError, type IBackoff } from 'cockatiel';
import { describe, expect, it } from 'vitest';
import { PartnerHttpError } from '../../../shared/diagnostics/domainErrors';
import { budgetedBackoff, DeliveryBudget, deliveryPolicy, isTransient } from '../../../shared/webhook/deliveryPolicy';
import { PartnerNetworkError } from '../../../shared/webhook/partnerCall';

const http = (status: number, retryAfterSeconds?: number) => new PartnerHttpError(status, '', '', 1, retryAfterSeconds);
const signal = new AbortController().signal;
const context = (error: unknown, attempt = 1) => ({ attempt, signal, result: { error: error as Error } });

describe('what is retried within the invocation', () => {
  it.each([408, 429, 500, 502, 503, 504])('HTTP %i', (status) => expect(isTransient(http(status))).toBe(true));
  it.each([301, 302, 400, 401, 403, 404, 410, 422])('not HTTP %i', (status) => expect(isTransient(http(status))).toBe(false));
  it('connection failures yes; timeouts and anything else no', () => {
    expect(isTransient(new PartnerNetworkError('ECONNRESET', 1, new TypeError('fetch failed')))).toBe(true);
    expect(isTransient(new TaskCancelledError('Operation timed out after 10ms'))).toBe(false);
    expect(isTransient(new TypeError('fetch failed'))).toBe(false);
  });
});

describe('backoff within the budget', () => {
  const fixedClock = (at: number) => () => at;

  it('waits what Retry-After asks', () => {
    const budget = new DeliveryBudget(10_000, 1_000, fixedClock(0));
    const backoff = budgetedBackoff({ next: () => ({ duration: 50, next: () => { throw new Error('unused'); } }) }, budget);
    expect(backoff.next(context(http(429, 3))).duration).toBe(3_000);
  });

  it('otherwise the jittered exponential delay, cut to the room the budget has left', () => {
    const budget = new DeliveryBudget(1_300, 1_000, fixedClock(0));
    const delays = [120, 900];
    const jitter = (i: number): IBackoff<unknown> => ({ duration: delays[i]!, next: () => jitter(i + 1) });
    const first = budgetedBackoff({ next: () => jitter(0) }, budget).next(context(http(503)));
    expect(first.duration).toBe(120);
    expect(first.next(context(http(503), 2)).duration).toBe(300);
  });

  it('a wait and a full attempt must fit in what is left', () => {
    let now = 0;
    const budget = new DeliveryBudget(5_000, 1_000, () => now);
    expect(budget.allowsWait(4_000)).toBe(true);
    expect(budget.allowsWait(4_001)).toBe(false);
    now = 3_500;
    expect(budget.room()).toBe(500);
  });
});

describe('the cockatiel policy', () => {
  const options = { attemptTimeoutMs: 1_000, maxAttempts: 3, baseDelayMs: 1, budgetMs: 5_000 };

  async function run(failures: unknown[], policyOptions = options): Promise<{ calls: number[]; outcome: unknown }> {
    const calls: number[] = [];
    const outcome = await deliveryPolicy(policyOptions)
      .execute(async ({ attempt }) => {
        calls.push(attempt);
        const failure = failures[attempt];
        if (failure === 'hang') return new Promise(() => undefined);
        if (failure) throw failure;
        return 'delivered';
      })
      .catch((error: unknown) => error);
    return { calls, outcome };
  }

  it('retries transients up to the attempt limit and reports the last failure', async () => {
    expect(await run([http(503), http(502)])).toEqual({ calls: [0, 1, 2], outcome: 'delivered' });
    const exhausted = await run([http(503), http(502), http(500), http(500)]);
    expect(exhausted.calls).toEqual([0, 1, 2]);
    expect(exhausted.outcome).toMatchObject({ status: 500 });
  });

  it('fails a permanent answer at once', async () => {
    expect(await run([http(422)])).toMatchObject({ calls: [0], outcome: { status: 422 } });
    expect(await run([http(401)])).toMatchObject({ calls: [0], outcome: { status: 401 } });
  });

  it('gives up at once when Retry-After does not fit the budget, keeping the wait for the retry job', async () => {
    const result = await run([http(429, 3_600)]);
    expect(result.calls).toEqual([0]);
    expect(result.outcome).toMatchObject({ status: 429, retryAfterSeconds: 3_600 });
  });

  it('times an attempt out with TaskCancelledError and does not retry it', async () => {
    const result = await run(['hang'], { ...options, attemptTimeoutMs: 20 });
    expect(result.calls).toEqual([0]);
    expect(result.outcome).toBeInstanceOf(TaskCancelledError);
  });
});
