import { InvocationContext } from '@azure/functions';
import { startAzuriteTables, type AzuriteTables } from '../../dev/azurite';
import { startServiceBusBroker, type ServiceBusBroker } from '../../dev/serviceBus/broker';
import { startAppInsightsSink, type AppInsightsSink } from '../../dev/simulators/appInsightsSink';
import { makeSyncAppointmentHandler } from '../../functions/syncAppointment';
import { buildDependencies, type AppDependencies } from '../../shared/app/dependencies';
import { readSettings } from '../../shared/config/settings';
import type { ConnectorInput, ConnectorType } from '../../shared/storage/connectors';
import type { TableProvider } from '../../shared/storage/tableClients';
import type { TransactionRecord } from '../../shared/storage/transactions';
import { createTelemetry } from '../../shared/telemetry/appInsightsTelemetry';

/**
 * What every end-to-end sync test needs whatever the back office: Azurite, the App Insights sink,
 * optionally the Service Bus broker, and the real handler built by the real composition root. The
 * back office's simulator is the caller's (exchangeHarness, webhookHarness).
 */
export const TEST_PROTECTION_KEY = Buffer.alloc(32, 7).toString('base64');
export const TEST_QUEUE = 'appointments';

export interface LogLine {
  level: string;
  text: string;
}

export interface DeliveryMeta {
  messageId?: string;
  deliveryCount?: number;
  applicationProperties?: Record<string, unknown>;
}

/** One app instance: its own composition root, driven through the registered handler. */
export interface HandlerInstance {
  deps: AppDependencies;
  logs: LogLine[];
  /** Drives the handler as the host would, with Service Bus trigger metadata. */
  deliver(body: unknown, meta?: DeliveryMeta): Promise<void>;
  row(tenantId: string, transactionId: string): Promise<TransactionRecord | undefined>;
  rows(tenantId?: string): Promise<TransactionRecord[]>;
}

export interface SyncHarness<S> extends HandlerInstance {
  azurite: AzuriteTables;
  sim: S;
  sink: AppInsightsSink;
  /** only with `{ serviceBus: true }`: the queue replays are sent to */
  broker?: ServiceBusBroker;
  seedConnector(input: Partial<ConnectorInput> & Pick<ConnectorInput, 'tenantId' | 'connectorId'>): Promise<void>;
  /** A second (third …) instance of the app, as another Functions host would build it, on the same storage. */
  instance(settings?: Record<string, string>, overrides?: { tables?: TableProvider }): HandlerInstance;
  close(): Promise<void>;
}

export interface SyncHarnessOptions<S> {
  simulator: Promise<S>;
  /** settings that point the app at the simulator (and any test-sized limits) */
  settings: (sim: S) => Record<string, string>;
  connectorType: ConnectorType;
  serviceBus?: boolean;
}

let invocation = 0;

export function handlerInstance(deps: AppDependencies): HandlerInstance {
  const logs: LogLine[] = [];
  const handler = makeSyncAppointmentHandler(() => deps);
  return {
    deps,
    logs,
    async deliver(body, meta = {}) {
      invocation += 1;
      const context = new InvocationContext({
        invocationId: `test-${invocation}`,
        functionName: 'syncAppointment',
        triggerMetadata: { messageId: meta.messageId ?? `msg-${invocation}`, deliveryCount: meta.deliveryCount ?? 1, applicationProperties: meta.applicationProperties ?? {} },
        logHandler: (level, ...args) => logs.push({ level, text: args.map(String).join(' ') }),
      });
      await handler(body, context);
    },
    async row(tenantId, transactionId) {
      return (await deps.transactions.get(tenantId, transactionId))?.record;
    },
    async rows(tenantId) {
      const out: TransactionRecord[] = [];
      for await (const r of deps.transactions.list(tenantId)) out.push(r);
      return out;
    },
  };
}

export async function startSyncHarness<S extends { close(): Promise<void> }>(options: SyncHarnessOptions<S>): Promise<SyncHarness<S>> {
  const [azurite, sim, sink, broker] = await Promise.all([
    startAzuriteTables({ inMemory: true }),
    options.simulator,
    startAppInsightsSink(),
    options.serviceBus ? startServiceBusBroker({ queues: [{ name: TEST_QUEUE, duplicateDetectionWindowMs: 600_000 }] }) : undefined,
  ]);
  const telemetry = createTelemetry(sink.connectionString, { offlineStorage: false });
  const base = {
    TablesConnection: azurite.connectionString,
    SECRET_PROTECTION_KEY: TEST_PROTECTION_KEY,
    APPLICATIONINSIGHTS_CONNECTION_STRING: sink.connectionString,
    APPOINTMENTS_QUEUE: TEST_QUEUE,
    ...(broker ? { ServiceBusConnection: broker.connectionString } : {}),
    ...options.settings(sim),
  };
  const built: AppDependencies[] = [];
  const instance = (settings: Record<string, string> = {}, overrides: { tables?: TableProvider } = {}): HandlerInstance => {
    const deps = buildDependencies(readSettings({ ...base, ...settings }), { telemetry, ...overrides });
    built.push(deps);
    return handlerInstance(deps);
  };
  const first = instance();

  return {
    ...first,
    azurite,
    sim,
    sink,
    broker,
    instance,
    async seedConnector(input) {
      await first.deps.connectors.save({ type: options.connectorType, name: input.connectorId, allowedToSend: true, ...input });
    },
    async close() {
      await telemetry.shutdown();
      await Promise.all(built.map((deps) => deps.replayPublisher.close()));
      if (broker) await first.deps.serviceBus().close();
      await Promise.allSettled([azurite.close(), sim.close(), sink.close(), broker?.close()]);
    },
  };
}

export interface MessageOptions {
  tenantId?: string;
  connectorId?: string;
  appointmentId?: string;
  appointmentVersion?: number;
  action?: 'create' | 'update' | 'delete';
  resources?: Array<{ number: string; name: string; email?: string; exchangeEnabled?: boolean }>;
  connectorType?: 'Exchange' | 'Webhook';
}

export function appointmentMessage(options: MessageOptions = {}) {
  const base = {
    schemaVersion: 1,
    action: options.action ?? 'create',
    tenantId: options.tenantId ?? 'contoso',
    connectorId: options.connectorId ?? 'exchange-main',
    appointmentId: options.appointmentId ?? 'APT-1',
    appointmentVersion: options.appointmentVersion ?? 1,
    ...(options.connectorType ? { connectorType: options.connectorType } : {}),
    resources: options.resources ?? [{ number: 'R001', name: 'Jane Doe', email: 'jane@contoso.com', exchangeEnabled: true }],
  };
  if (base.action === 'delete') return base;
  return {
    ...base,
    subject: 'Boiler maintenance',
    body: 'Bring the spare valve.',
    location: 'Kerkstraat 1, Gent',
    start: { dateTime: '2026-11-23T09:00:00', timeZone: 'Europe/Brussels' },
    end: { dateTime: '2026-11-23T10:30:00', timeZone: 'Europe/Brussels' },
  };
}
