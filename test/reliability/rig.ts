import { InvocationContext } from '@azure/functions';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAzuriteTables, type AzuriteTables } from '../../dev/azurite';
import type { RegisteredFunction } from '../../dev/functionsHost/fakeCore';
import { startServiceBusHost, type ServiceBusHost } from '../../dev/functionsHost/serviceBusHost';
import { startServiceBusBroker, type ServiceBusBroker } from '../../dev/serviceBus/broker';
import { startAppInsightsSink, type AppInsightsSink } from '../../dev/simulators/appInsightsSink';
import { startEntraGraphSimulator, type EntraGraphSimulator } from '../../dev/simulators/entraGraph';
import { startPartnerSimulator, type PartnerSimulator } from '../../dev/simulators/partner';
import { makeSyncAppointmentHandler } from '../../functions/syncAppointment';
import { buildDependencies, type AppDependencies } from '../../shared/app/dependencies';
import { readSettings } from '../../shared/config/settings';
import { createTelemetry } from '../../shared/telemetry/appInsightsTelemetry';
import type { Telemetry } from '../../shared/telemetry/telemetry';
import { TEST_PROTECTION_KEY } from '../support/syncHarness';

/**
 * Everything the chaos run needs, all real on loopback: Azurite on disk (so it can be stopped and
 * restarted for a storage outage and keep its data), the Entra/Graph simulator, one partner simulator
 * per signing secret, the App Insights ingestion sink over HTTPS, the Service Bus broker (peek-lock,
 * delivery counts, dead-lettering, duplicate detection) and the local host's Service Bus trigger
 * driving the real sync handler (complete on return, abandon on throw).
 */
export const QUEUE = 'appointments';
export const MAX_DELIVERY_COUNT = 10;

export interface Rig {
  azurite: AzuriteTables;
  sim: EntraGraphSimulator;
  partners: PartnerSimulator[];
  sink: AppInsightsSink;
  broker: ServiceBusBroker;
  deps: AppDependencies;
  telemetry: Telemetry;
  /** every line any handler or sweep logged */
  logs: string[];
  /** messageId → deliveries that threw (and were abandoned) */
  abandoned: Map<string, number>;
  /** deliveries the trigger handed the handler, by outcome */
  counts: { delivered: number; completed: number; abandoned: number };
  startTrigger(): void;
  /** Resolves once the queue is empty and no invocation is running. */
  idle(timeoutMs?: number): Promise<void>;
  /** Stops Azurite (everything in flight to it fails); `storageUp` brings it back on the same port with its data. */
  storageDown(): Promise<void>;
  storageUp(): Promise<void>;
  storageIsDown(): boolean;
  close(): Promise<void>;
}

export async function startRig(options: { partners: string[]; settings: Record<string, string> }): Promise<Rig> {
  const location = mkdtempSync(join(tmpdir(), 'azurite-chaos-'));
  let azurite = await startAzuriteTables({ location });
  const port = azurite.port;
  const [sim, sink, broker, ...partners] = await Promise.all([
    startEntraGraphSimulator(),
    startAppInsightsSink(),
    startServiceBusBroker({ queues: [{ name: QUEUE, maxDeliveryCount: MAX_DELIVERY_COUNT, duplicateDetectionWindowMs: 3_600_000, lockDurationMs: 300_000 }] }),
    ...options.partners.map((signingSecret) => startPartnerSimulator({ signingSecret, rejectInvalidSignatures: true })),
  ]);
  const telemetry = createTelemetry(sink.connectionString, { offlineStorage: false });
  const settings = readSettings({
    TablesConnection: azurite.connectionString,
    SECRET_PROTECTION_KEY: TEST_PROTECTION_KEY,
    APPLICATIONINSIGHTS_CONNECTION_STRING: sink.connectionString,
    APPOINTMENTS_QUEUE: QUEUE,
    ServiceBusConnection: broker.connectionString,
    GRAPH_BASE_URL: sim.url,
    ENTRA_AUTHORITY_HOST: sim.url,
    ...options.settings,
  });
  const deps = buildDependencies(settings, { telemetry });
  const logs: string[] = [];
  const abandoned = new Map<string, number>();
  const counts = { delivered: 0, completed: 0, abandoned: 0 };
  let inFlight = 0;
  let down = false;
  let host: ServiceBusHost | undefined;

  const handler = makeSyncAppointmentHandler(() => deps);
  const fn: RegisteredFunction = {
    metadata: { name: 'syncAppointment', bindings: { trigger: { type: 'serviceBusTrigger', direction: 'in', queueName: QUEUE, connection: 'ServiceBusConnection' } } },
    handler: async (...args: unknown[]) => {
      inFlight += 1;
      counts.delivered += 1;
      const [body, context] = args as [unknown, InvocationContext];
      // the host's context logs to its own sink; keep the handler's lines here as well
      const captured = new InvocationContext({
        invocationId: context.invocationId,
        functionName: context.functionName,
        triggerMetadata: context.triggerMetadata,
        logHandler: (_level, ...parts) => logs.push(parts.map(String).join(' ')),
      });
      await handler(body, captured);
    },
  };

  return {
    azurite,
    sim,
    partners,
    sink,
    broker,
    deps,
    telemetry,
    logs,
    abandoned,
    counts,
    startTrigger() {
      host = startServiceBusHost({
        functions: [fn],
        env: { ServiceBusConnection: broker.connectionString },
        maxConcurrentCalls: 16,
        log: (line) => logs.push(line),
        onSettled: ({ messageId, ok }) => {
          inFlight -= 1;
          if (ok) counts.completed += 1;
          else {
            counts.abandoned += 1;
            abandoned.set(messageId, (abandoned.get(messageId) ?? 0) + 1);
          }
        },
      });
    },
    async idle(timeoutMs = 600_000) {
      const deadline = Date.now() + timeoutMs;
      let quiet = 0;
      while (Date.now() < deadline) {
        const busy = inFlight > 0 || broker.activeMessages(QUEUE).length > 0;
        quiet = busy ? 0 : quiet + 1;
        if (quiet >= 3) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`queue not idle after ${timeoutMs} ms: ${broker.activeMessages(QUEUE).length} waiting, ${inFlight} running`);
    },
    async storageDown() {
      down = true;
      await azurite.close();
    },
    async storageUp() {
      azurite = await startAzuriteTables({ location, port });
      down = false;
    },
    storageIsDown: () => down,
    async close() {
      await host?.close();
      await telemetry.shutdown();
      await deps.replayPublisher.close();
      await deps.serviceBus().close();
      await Promise.allSettled([azurite.close(), sim.close(), sink.close(), broker.close(), ...partners.map((p) => p.close())]);
      rmSync(location, { recursive: true, force: true });
    },
  };
}
