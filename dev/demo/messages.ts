import { MAILBOXES } from './world';

/** Appointment messages as the scheduling platform sends them (docs/messages.md, schema version 1). */
export interface Resource {
  number: string;
  name: string;
  email?: string;
  exchangeEnabled?: boolean;
}

export interface AppointmentOptions {
  tenantId: string;
  connectorId: string;
  appointmentId: string;
  appointmentVersion?: number;
  action?: 'create' | 'update' | 'delete';
  connectorType?: 'Exchange' | 'Webhook';
  resources?: Resource[];
  subject?: string;
}

export const JANE: Resource = { number: 'R001', name: 'Jane Doe', email: MAILBOXES.jane, exchangeEnabled: true };

let day = 0;
/** Spread over the coming weeks, so the demo calendar does not pile everything on one slot. */
function slot(): { start: string; end: string } {
  day += 1;
  const date = new Date(Date.UTC(2026, 11, 1 + (day % 28)));
  const ymd = date.toISOString().slice(0, 10);
  const hour = 8 + (day % 8);
  return { start: `${ymd}T${String(hour).padStart(2, '0')}:00:00`, end: `${ymd}T${String(hour + 1).padStart(2, '0')}:30:00` };
}

export function appointment(options: AppointmentOptions): Record<string, unknown> {
  const base = {
    schemaVersion: 1,
    action: options.action ?? 'create',
    tenantId: options.tenantId,
    connectorId: options.connectorId,
    appointmentId: options.appointmentId,
    appointmentVersion: options.appointmentVersion ?? 1,
    ...(options.connectorType ? { connectorType: options.connectorType } : {}),
    resources: options.resources ?? [JANE],
  };
  if (base.action === 'delete') return base;
  const { start, end } = slot();
  return {
    ...base,
    subject: options.subject ?? 'Boiler maintenance',
    body: 'Bring the spare valve.',
    location: 'Kerkstraat 1, Gent',
    start: { dateTime: start, timeZone: 'Europe/Brussels' },
    end: { dateTime: end, timeZone: 'Europe/Brussels' },
  };
}

/** A message for a Webhook connector: the platform names the connector type. */
export function webhookAppointment(options: Omit<AppointmentOptions, 'connectorType'>): Record<string, unknown> {
  return appointment({ connectorType: 'Webhook', resources: [{ number: 'R001', name: 'Jane Doe', email: MAILBOXES.jane }], ...options });
}
