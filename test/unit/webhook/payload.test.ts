import { describe, expect, it } from 'vitest';
import { parseAppointmentMessage } from '../../../shared/messages/appointmentMessage';
import { payloadBody, webhookPayload } from '../../../shared/webhook/payload';

/** A Webhook appointment message as the platform sends it. */
function webhookMessage(overrides: Record<string, unknown> = {}) {
  return {
    schemaVersion: 1,
    action: 'create',
    tenantId: 'contoso',
    connectorId: 'partner',
    connectorType: 'Webhook',
    appointmentId: 'APT-1',
    appointmentVersion: 1,
    subject: 'Boiler maintenance',
    body: 'Bring the spare valve.',
    location: 'Kerkstraat 1, Gent',
    start: { dateTime: '2026-11-23T09:00:00', timeZone: 'Europe/Brussels' },
    end: { dateTime: '2026-11-23T10:30:00', timeZone: 'Europe/Brussels' },
    resources: [{ number: 'R001', name: 'Jane Doe', email: 'jane@contoso.com' }],
    ...overrides,
  };
}

describe('webhook payload', () => {
  it('maps a create to appointment.created with the appointment and its resources', () => {
    const message = parseAppointmentMessage(webhookMessage({ appointmentId: 'APT-9', appointmentVersion: 4 }));
    expect(webhookPayload(message)).toEqual({
      type: 'appointment.created',
      schemaVersion: 1,
      tenantId: 'contoso',
      connectorId: 'partner',
      data: {
        appointmentId: 'APT-9',
        appointmentVersion: 4,
        subject: 'Boiler maintenance',
        body: 'Bring the spare valve.',
        location: 'Kerkstraat 1, Gent',
        start: { dateTime: '2026-11-23T09:00:00', timeZone: 'Europe/Brussels' },
        end: { dateTime: '2026-11-23T10:30:00', timeZone: 'Europe/Brussels' },
        isAllDay: false,
        resources: [{ number: 'R001', name: 'Jane Doe', email: 'jane@contoso.com' }],
      },
    });
  });

  it('maps update and delete; a delete carries only the ids and resources', () => {
    expect(webhookPayload(parseAppointmentMessage(webhookMessage({ action: 'update' }))).type).toBe('appointment.updated');
    const deleted = webhookPayload(parseAppointmentMessage(webhookMessage({ action: 'delete', resources: [{ number: 'R2', name: 'Van', exchangeEnabled: false }] })));
    expect(deleted).toMatchObject({ type: 'appointment.deleted', data: { appointmentId: 'APT-1', appointmentVersion: 1, resources: [{ number: 'R2', name: 'Van' }] } });
    expect(Object.keys(deleted.data).sort()).toEqual(['appointmentId', 'appointmentVersion', 'resources']);
  });

  it('is the same bytes every time for one message (retries and replays send what was signed before)', () => {
    const message = parseAppointmentMessage(webhookMessage());
    expect(payloadBody(message)).toBe(payloadBody(parseAppointmentMessage(webhookMessage())));
    expect(payloadBody(message)).not.toContain('exchangeEnabled');
  });
});
