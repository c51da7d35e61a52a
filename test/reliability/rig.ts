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
import { buildDependencies, type AppDependencies, type GraphGatewayTuning } from '../../shared/app/dependencies';
import { readSettings } from '../../shared/config/settings';
import { REPLAY_PROPERTIES } from '../../shared/pipeline/incoming';
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
  /** transactionId (the first message's id; replays carry it as a property) → handler invocations */
  invocations: Map<string, number>;
  /**
   * Graph event creates as the app's own client saw them (fetch is watched, not replaced): per
   * `mailbox transactionId`, POSTs sent, POSTs whose 2xx answer the client read, and POSTs refused
   * with an error status. The rest got no answer the client read (reset, timeout, lost).
   */
  graphCreates: Map<string, ClientCounts>;
  /** Webhook POSTs as the app's client saw them, per webhook-id: sent, answered 2xx, answered otherwise. */
  webhookPosts: Map<string, ClientCounts>;
  /** An invocation context whose log lands in `logs`, as the trigger's invocations do. */
  invocationContext(base?: ConstructorParameters<typeof InvocationContext>[0]): InvocationContext;
  startTrigger(): void;
  /** Resolves once the queue is empty and no invocation is running (default timeout: `idleTimeoutMs`). */
  idle(timeoutMs?: number): Promise<void>;
  /** Stops Azurite (everything in flight to it fails); `storageUp` brings it back on the same port with its data. */
  storageDown(): Promise<void>;
  storageUp(): Promise<void>;
  storageIsDown(): boolean;
  close(): Promise<void>;
}

export interface RigOptions {
  partners: string[];
  settings: Record<string, string>;
  /** gateway tuning passed through the composition root (not an app setting) */
  graph?: GraphGatewayTuning;
  /** default for idle(); scale it with the run's size */
  idleTimeoutMs?: number;
}

type ClientCounts = { sent: number; answered: number; refused: number };

/**
 * Counts, on the client side, Graph event creates and partner webhook POSTs: whether the app's own
 * client got the answer. Returns the function that stops watching.
 */
function watchClient(graphUrl: string, partnerUrls: string[], creates: Map<string, ClientCounts>, webhooks: Map<string, ClientCounts>): () => void {
  const original = globalThis.fetch;
  const watched: typeof fetch = async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const method = (init?.method ?? (typeof input === 'object' && 'method' in input ? input.method : 'GET')).toUpperCase();
    if (method !== 'POST') return original(input, init);
    let counts: ClientCounts | undefined;
    let webhook = false;
    const route = url.startsWith(graphUrl) ? /\/users\/([^/]+)\/events$/.exec(new URL(url).pathname) : null;
    if (route && typeof init?.body === 'string') {
      const transactionId = (JSON.parse(init.body) as { transactionId?: unknown }).transactionId;
      const key = typeof transactionId === 'string' ? `${decodeURIComponent(route[1]!).toLowerCase()} ${transactionId}` : undefined;
      if (key !== undefined) creates.set(key, (counts = creates.get(key) ?? { sent: 0, answered: 0, refused: 0 }));
    } else if (partnerUrls.some((p) => url.startsWith(p))) {
      const id = new Headers(init?.headers).get('webhook-id');
      webhook = true;
      if (id !== null) webhooks.set(id, (counts = webhooks.get(id) ?? { sent: 0, answered: 0, refused: 0 }));
    }
    if (counts === undefined) return original(input, init);
    const count = counts;
    count.sent += 1;
    const response = await original(input, init);
    if (!response.ok) {
      count.refused += 1;
      return response;
    }
    if (webhook) {
      count.answered += 1; // a webhook's success is its 2xx status: the body is discarded unread
      return response;
    }
    // Answered only once the body was read: a timeout can still cut it off after the headers.
    for (const reader of ['json', 'text', 'arrayBuffer', 'blob'] as const) {
      const read = response[reader].bind(response) as () => Promise<unknown>;
      Object.defineProperty(response, reader, {
        value: async () => {
          const body = await read();
          count.answered += 1;
          return body;
        },
      });
    }
    return response;
  };
  globalThis.fetch = watched;
  return () => {
    if (globalThis.fetch === watched) globalThis.fetch = original;
  };
}

export async function startRig(options: RigOptions): Promise<Rig> {
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
  const deps = buildDependencies(settings, { telemetry, ...(options.graph ? { graph: options.graph } : {}) });
  const logs: string[] = [];
  const abandoned = new Map<string, number>();
  const counts = { delivered: 0, completed: 0, abandoned: 0 };
  const invocations = new Map<string, number>();
  const graphCreates = new Map<string, ClientCounts>();
  const webhookPosts = new Map<string, ClientCounts>();
  const unwatch = watchClient(sim.url, partners.map((p) => p.url), graphCreates, webhookPosts);
  const idleTimeoutMs = options.idleTimeoutMs ?? 600_000;
  const invocationContext = (base: ConstructorParameters<typeof InvocationContext>[0] = {}) =>
    new InvocationContext({ ...base, logHandler: (_level, ...parts) => logs.push(parts.map(String).join(' ')) });
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
      const properties = (context.triggerMetadata?.applicationProperties ?? {}) as Record<string, unknown>;
      const transactionId = String(properties[REPLAY_PROPERTIES.transactionId] ?? context.triggerMetadata?.messageId);
      invocations.set(transactionId, (invocations.get(transactionId) ?? 0) + 1);
      // the host's context logs to its own sink; keep the handler's lines here as well
      const captured = invocationContext({
        invocationId: context.invocationId,
        functionName: context.functionName,
        triggerMetadata: context.triggerMetadata,
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
    invocations,
    graphCreates,
    webhookPosts,
    invocationContext,
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
    async idle(timeoutMs = idleTimeoutMs) {
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
      unwatch();
      await host?.close();
      await telemetry.shutdown();
      await deps.replayPublisher.close();
      await deps.serviceBus().close();
      await Promise.allSettled([azurite.close(), sim.close(), sink.close(), broker.close(), ...partners.map((p) => p.close())]);
      rmSync(location, { recursive: true, force: true });
    },
  };
}
