import { app, type InvocationContext } from '@azure/functions';
import { appDependencies, shutdownAppDependencies } from '../shared/app/dependencies';
import type { IncomingMessage } from '../shared/pipeline/incoming';
import { syncAppointment, type SyncDependencies } from '../shared/pipeline/syncAppointment';

/** Service Bus trigger metadata → the pipeline's message; keys arrive camelCased from the host. */
export function incomingFrom(body: unknown, context: InvocationContext): IncomingMessage {
  const meta = (context.triggerMetadata ?? {}) as Record<string, unknown>;
  const properties = (meta.applicationProperties ?? meta.userProperties) as Record<string, unknown> | undefined;
  return {
    body,
    messageId: typeof meta.messageId === 'string' ? meta.messageId : undefined,
    deliveryCount: typeof meta.deliveryCount === 'number' ? meta.deliveryCount : undefined,
    applicationProperties: properties,
  };
}

export function makeSyncAppointmentHandler(dependencies: () => SyncDependencies) {
  return async (body: unknown, context: InvocationContext): Promise<void> => {
    await syncAppointment(incomingFrom(body, context), dependencies(), context);
  };
}

export const syncAppointmentHandler = makeSyncAppointmentHandler(appDependencies);

app.serviceBusQueue('syncAppointment', {
  connection: 'ServiceBusConnection',
  queueName: '%APPOINTMENTS_QUEUE%',
  handler: syncAppointmentHandler,
});

// A successful sync leaves its AppointmentSynced event to the exporter's batch instead of awaiting a
// flush (shared/pipeline/syncAppointment): whatever is still queued is sent before the worker stops.
app.hook.appTerminate(() => shutdownAppDependencies());
