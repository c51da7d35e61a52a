import { app, type InvocationContext } from '@azure/functions';
import { lazy, lazyAppDependencies, shutdownLazyAppDependencies } from '../shared/app/lazy';
import type { IncomingMessage } from '../shared/pipeline/incoming';
import type { SyncDependencies } from '../shared/pipeline/syncAppointment';

// Loaded by the first message, not at start-up (cold start: shared/app/lazy).
const pipeline = lazy(() => import('../shared/pipeline/syncAppointment.js'));

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

export function makeSyncAppointmentHandler(dependencies: () => SyncDependencies | Promise<SyncDependencies>) {
  return async (body: unknown, context: InvocationContext): Promise<void> => {
    const { syncAppointment } = await pipeline();
    await syncAppointment(incomingFrom(body, context), await dependencies(), context);
  };
}

export const syncAppointmentHandler = makeSyncAppointmentHandler(lazyAppDependencies);

app.serviceBusQueue('syncAppointment', {
  connection: 'ServiceBusConnection',
  queueName: '%APPOINTMENTS_QUEUE%',
  handler: syncAppointmentHandler,
});

// A successful sync leaves its AppointmentSynced event to the exporter's batch instead of awaiting a
// flush (shared/pipeline/syncAppointment): whatever is still queued is sent before the worker stops.
app.hook.appTerminate(() => shutdownLazyAppDependencies());
