import type { RetryClass } from '../diagnostics/types';

/*
 * The replay schedule, as the retry sweep applies it (shared/retry/dueRules.ts; docs/retry.md):
 *  - `retried` and `undiagnosed` rows are due at nextAttemptAt: exponential backoff from the attempt,
 *    2, 4, 8 … minutes capped at 6 hours, ±25 % jitter, never before the back office's Retry-After.
 *  - `fix-config` rows are due as soon as their connector's config version differs from the one
 *    recorded at the failed attempt (0 when there was no connector), on the very next pass.
 *  - `n/a` rows, archived rows and rows already expired are never due.
 *  - Nothing replays once REPLAY_WINDOW_MS has passed since the first failure: the sweep marks the row
 *    expired (it is kept) and reports the give-up with the row's errorCode. A Timer job replay still
 *    in the queue then is dropped by the sync function (shared/pipeline/syncAppointment.ts).
 *  - A row whose appointment has a newer version taken up is superseded, and a row without a stored
 *    message has nothing to replay: given up the same way (marked expired, with the reason), never replayed.
 *  - A row the sweep enqueued is leased: not due again until the lease (RETRY_SWEEP_LEASE_MINUTES)
 *    runs out without its replay being recorded; then it is sent again under the same message id.
 */

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
