import type { Diagnosis, RetryClass } from '../diagnostics/types';
import type { AppointmentMessage } from '../messages/appointmentMessage';
import type { StoredConnector } from '../storage/connectors';

export type DeliveryResult =
  | { outcome: 'succeeded'; detail: string }
  | { outcome: 'failed'; diagnosis: Diagnosis };

export interface DeliveryRequest {
  message: AppointmentMessage;
  connector: StoredConnector;
  transactionId: string;
  /** 1 on the first delivery; replays and redeliveries count up */
  attempt: number;
}

/** A back office we deliver appointments to (Exchange, Webhook). Failures come back diagnosed. */
export interface Deliverer {
  deliver(request: DeliveryRequest): Promise<DeliveryResult>;
}

const SEVERITY: Record<RetryClass, number> = { undiagnosed: 4, 'fix-config': 3, retried: 2, 'n/a': 1 };

/** Of several per-resource failures the row shows the one that needs attention first. */
export function worstDiagnosis(diagnoses: readonly Diagnosis[]): Diagnosis | undefined {
  return [...diagnoses].sort((a, b) => SEVERITY[b.retry] - SEVERITY[a.retry])[0];
}
