import type { Diagnosis, RetryClass } from '../diagnostics/types';
import type { AppointmentMessage } from '../messages/appointmentMessage';
import type { StoredConnector } from '../storage/connectors';

export type DeliveryResult =
  | { outcome: 'succeeded'; detail: string }
  | { outcome: 'failed'; diagnosis: Diagnosis };

export interface DeliveryRequest<Prefetched = unknown> {
  message: AppointmentMessage;
  connector: StoredConnector;
  transactionId: string;
  /** 1 on the first delivery; replays and redeliveries count up */
  attempt: number;
  /** what this deliverer's `prefetch` returned for the message, when the pipeline called it */
  prefetched?: Prefetched;
}

/** A back office we deliver appointments to (Exchange, Webhook). Failures come back diagnosed. */
export interface Deliverer<Prefetched = unknown> {
  deliver(request: DeliveryRequest<Prefetched>): Promise<DeliveryResult>;
  /**
   * Optional: reads that depend on the message alone, which the pipeline starts together with its
   * own first reads (row, version claim, connector) instead of after them; the result comes back as
   * `request.prefetched`. Reads only, never a write; it must not throw, and a read's failure must
   * surface where `deliver` uses it (an unused result — the run ended early — is dropped).
   */
  prefetch?(message: AppointmentMessage): Prefetched;
}

const SEVERITY: Record<RetryClass, number> = { undiagnosed: 4, 'fix-config': 3, retried: 2, 'n/a': 1 };

/** Of several per-resource failures the row shows the one that needs attention first. */
export function worstDiagnosis(diagnoses: readonly Diagnosis[]): Diagnosis | undefined {
  return [...diagnoses].sort((a, b) => SEVERITY[b.retry] - SEVERITY[a.retry])[0];
}
