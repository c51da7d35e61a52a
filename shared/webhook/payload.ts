import type { AppointmentMessage } from '../messages/appointmentMessage';

/** The Standard Webhooks event types a partner receives (documented in docs/webhook-payload.md). */
export const EVENT_TYPES = { create: 'appointment.created', update: 'appointment.updated', delete: 'appointment.deleted' } as const;
export type WebhookEventType = (typeof EVENT_TYPES)[keyof typeof EVENT_TYPES];

export const PAYLOAD_SCHEMA_VERSION = 1 as const;

export interface WebhookResource {
  number: string;
  name: string;
  email?: string;
}

export interface WebhookPayload {
  type: WebhookEventType;
  schemaVersion: typeof PAYLOAD_SCHEMA_VERSION;
  tenantId: string;
  connectorId: string;
  data: {
    appointmentId: string;
    appointmentVersion: number;
    subject?: string;
    body?: string;
    location?: string;
    start?: { dateTime: string; timeZone: string };
    end?: { dateTime: string; timeZone: string };
    isAllDay?: boolean;
    resources: WebhookResource[];
  };
}

/**
 * The document a partner receives. It is a function of the message alone (no send time, no attempt
 * number): a retry or replay sends the very same bytes under the same webhook-id, so a partner can
 * deduplicate on the id and even compare bodies. When it was sent is in webhook-timestamp.
 * Exchange-only flags (exchangeEnabled) are not part of the partner contract.
 */
export function webhookPayload(message: AppointmentMessage): WebhookPayload {
  const resources = message.resources.map(({ number, name, email }) => (email === undefined ? { number, name } : { number, name, email }));
  const ids = { appointmentId: message.appointmentId, appointmentVersion: message.appointmentVersion };
  const envelope = { type: EVENT_TYPES[message.action], schemaVersion: PAYLOAD_SCHEMA_VERSION, tenantId: message.tenantId, connectorId: message.connectorId };
  if (message.action === 'delete') return { ...envelope, data: { ...ids, resources } };
  const { subject, body, location, start, end, isAllDay } = message;
  return { ...envelope, data: { ...ids, subject, body, location, start, end, isAllDay: isAllDay ?? false, resources } };
}

/** Serialised once per delivery: the signature covers these exact bytes. */
export function payloadBody(message: AppointmentMessage): string {
  return JSON.stringify(webhookPayload(message));
}
