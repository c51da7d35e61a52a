import { createHash } from 'node:crypto';
import type { UpsertMessage } from '../messages/appointmentMessage';
import type { GraphEvent } from './graphGateway';

export function toGraphEvent(message: UpsertMessage): GraphEvent {
  return {
    subject: message.subject,
    ...(message.body !== undefined ? { body: { contentType: 'text', content: message.body } } : {}),
    start: message.start,
    end: message.end,
    ...(message.location ? { location: { displayName: message.location } } : {}),
    ...(message.isAllDay !== undefined ? { isAllDay: message.isAllDay } : {}),
  };
}

/**
 * The same appointment and resource always yield the same Graph transactionId, so a create that is
 * redelivered, retried or replayed returns the event Graph already made instead of a second one.
 */
export function graphTransactionId(tenantId: string, connectorId: string, appointmentId: string, resourceNumber: string): string {
  const hex = createHash('sha256').update(JSON.stringify([tenantId, connectorId, appointmentId, resourceNumber])).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
