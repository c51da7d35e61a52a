import { createHash } from 'node:crypto';
import { SOURCES, type Source, type TransactionRecord } from '../storage/transactions';

/** What the trigger hands the pipeline, independent of the Functions binding shapes. */
export interface IncomingMessage {
  body: unknown;
  messageId?: string;
  deliveryCount?: number;
  applicationProperties?: Record<string, unknown>;
}

/** Replays carry the original transaction id and their Source in application properties. */
export const REPLAY_PROPERTIES = { transactionId: 'transactionId', source: 'source' } as const;

export function sourceOf(message: IncomingMessage): Source {
  const value = message.applicationProperties?.[REPLAY_PROPERTIES.source];
  return SOURCES.find((s) => s === value) ?? 'Service';
}

/**
 * The transaction id is the id of the message that first carried the appointment change; a replay
 * names it explicitly. Without any id a hash of the body keeps redeliveries on the same row.
 */
export function transactionIdOf(message: IncomingMessage, raw: string): string {
  const replayed = message.applicationProperties?.[REPLAY_PROPERTIES.transactionId];
  if (typeof replayed === 'string' && replayed.length > 0) return replayed;
  if (message.messageId) return String(message.messageId);
  return `body-${createHash('sha256').update(raw).digest('hex').slice(0, 32)}`;
}

/**
 * A replay's message id is `<transactionId>:<attempt>` (one id per attempt, see messaging/replayPublisher).
 * Once the row holds that attempt the message is a second copy — a re-send after a crash, a lease that
 * ran out while the first copy waited in the queue, or an operator and the sweep replaying the same
 * attempt — and processing it again would only count a phantom attempt.
 */
export function isRecordedReplay(message: IncomingMessage, record: TransactionRecord): boolean {
  const transactionId = message.applicationProperties?.[REPLAY_PROPERTIES.transactionId];
  if (typeof transactionId !== 'string' || !message.messageId?.startsWith(`${transactionId}:`)) return false;
  const attempt = Number(message.messageId.slice(transactionId.length + 1));
  return Number.isInteger(attempt) && attempt > 0 && record.attempts >= attempt;
}

/** Best effort for a message that failed validation, so its poison row lands with its tenant. */
export function looseTenantId(raw: string): string {
  try {
    const tenantId = (JSON.parse(raw) as { tenantId?: unknown }).tenantId;
    return typeof tenantId === 'string' && tenantId.length > 0 && tenantId.length <= 200 ? tenantId : '';
  } catch {
    return '';
  }
}
