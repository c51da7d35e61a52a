import type { RetryClass } from '../diagnostics/types';

/** Rows never replay once this long has passed since their first failure. */
export const REPLAY_WINDOW_MS = 14 * 24 * 60 * 60 * 1000;
export const FIRST_DELAY_MS = 2 * 60 * 1000;
export const MAX_DELAY_MS = 6 * 60 * 60 * 1000;
const JITTER = 0.25;

/**
 * When a failed row is next due, for the classes the retry job replays on a clock (`retried` and
 * `undiagnosed`): 2, 4, 8 … minutes after the attempt, capped at 6 hours, ±25 % jitter so rows that
 * failed together do not return together, and never sooner than the back office's Retry-After.
 * `fix-config` rows wait for a config change instead, `n/a` rows never replay: both get undefined.
 */
export function nextAttemptAt(
  retry: RetryClass,
  failedAttempts: number,
  at: Date,
  retryAfterSeconds?: number,
  random: () => number = Math.random,
): Date | undefined {
  if (retry !== 'retried' && retry !== 'undiagnosed') return undefined;
  const exponential = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** Math.max(0, failedAttempts - 1));
  const jittered = exponential * (1 - JITTER + 2 * JITTER * random());
  const delay = Math.max(jittered, (retryAfterSeconds ?? 0) * 1000);
  return new Date(at.getTime() + delay);
}

export function replayWindowEnds(firstFailureAt: Date): Date {
  return new Date(firstFailureAt.getTime() + REPLAY_WINDOW_MS);
}
