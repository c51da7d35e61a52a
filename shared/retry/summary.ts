import type { Log } from '../pipeline/report';
import type { Telemetry } from '../telemetry/telemetry';
import type { SkipReason } from './dueRules';

/** What one pass did. due = enqueued + expired + failed + every skipped reason. */
export interface SweepSummary {
  /** index entries the pass found due and looked at */
  due: number;
  enqueued: number;
  expired: number;
  /** rows that hit an error (storage, or a send that failed after the row was claimed) */
  failed: number;
  skipped: Partial<Record<SkipReason, number>>;
  /** connectors whose fix-config rows were looked at because their config version changed */
  connectorsLookedAt: number;
  /** the pass stopped at RETRY_SWEEP_MAX_ROWS or RETRY_SWEEP_MAX_SECONDS with entries left */
  truncated: boolean;
  durationMs: number;
}

export function emptySummary(): SweepSummary {
  return { due: 0, enqueued: 0, expired: 0, failed: 0, skipped: {}, connectorsLookedAt: 0, truncated: false, durationMs: 0 };
}

export function totalSkipped(summary: SweepSummary): number {
  return Object.values(summary.skipped).reduce((a, b) => a + (b ?? 0), 0);
}

export const RETRY_SWEEP_EVENT = 'RetrySweepCompleted';

/** One log line and one telemetry event per pass, with the same counts. */
export function reportSweep(log: Log, telemetry: Telemetry, summary: SweepSummary): void {
  const reasons = Object.entries(summary.skipped).map(([reason, count]) => `${reason}=${count}`);
  log.info(
    `Retry sweep: due=${summary.due} enqueued=${summary.enqueued} expired=${summary.expired} failed=${summary.failed} ` +
      `skipped=${totalSkipped(summary)}${reasons.length ? ` (${reasons.join(' ')})` : ''} ` +
      `connectorsLookedAt=${summary.connectorsLookedAt} truncated=${summary.truncated} durationMs=${summary.durationMs}`,
  );
  const skippedByReason = Object.fromEntries(Object.entries(summary.skipped).map(([reason, count]) => [`skipped_${reason}`, count ?? 0]));
  telemetry.trackEvent(
    RETRY_SWEEP_EVENT,
    { truncated: String(summary.truncated) },
    {
      due: summary.due,
      enqueued: summary.enqueued,
      expired: summary.expired,
      failed: summary.failed,
      skipped: totalSkipped(summary),
      connectorsLookedAt: summary.connectorsLookedAt,
      durationMs: summary.durationMs,
      ...skippedByReason,
    },
  );
}
