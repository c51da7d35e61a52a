import { InvocationContext } from '@azure/functions';
import { startAzuriteTables, type AzuriteTables } from '../../dev/azurite';
import { startServiceBusBroker, type ServiceBusBroker } from '../../dev/serviceBus/broker';
import { startAppInsightsSink, type AppInsightsSink } from '../../dev/simulators/appInsightsSink';
import { startEntraGraphSimulator, type EntraGraphSimulator } from '../../dev/simulators/entraGraph';
import { makeSyncAppointmentHandler } from '../../functions/syncAppointment';
import { buildDependencies, type AppDependencies } from '../../shared/app/dependencies';
import { readSettings } from '../../shared/config/settings';
import { createTelemetry } from '../../shared/telemetry/appInsightsTelemetry';
import type { ConnectorInput } from '../../shared/storage/connectors';
import type { TransactionRecord } from '../../shared/storage/transactions';

export const TEST_PROTECTION_KEY = Buffer.alloc(32, 7).toString('base64');

export interface LogLine {
  level: string;
  text: string;
}

/** Azurite + Entra/Graph simulator + App Insights sink, and the real handler wired to them. */
export interface ExchangeHarness {
  azurite: AzuriteTables;
  sim: EntraGraphSimulator;
  sink: AppInsightsSink;
  /** only with `{ serviceBus: true }`: the queue replays are sent to */
  broker?: ServiceBusBroker;
  deps: AppDependencies;
  logs: LogLine[];
  seedConnector(input: Partial<ConnectorInput> & Pick<ConnectorInput, 'tenantId' | 'connectorId'>): Promise<void>;
  /** Drives the registered handler as the host would, with Service Bus trigger metadata. */
  deliver(body: unknown, meta?: { messageId?: string; deliveryCount?: number; applicationProperties?: Record<string, unknown> }): Promise<void>;
  row(tenantId: string, transactionId: string): Promise<TransactionRecord | undefined>;
  rows(tenantId?: string): Promise<TransactionRecord[]>;
  close(): Promise<void>;
}

export const TEST_QUEUE = 'appointments';

export async function startExchangeHarness(settings: Record<string, string> = {}, options: { serviceBus?: boolean } = {}): Promise<ExchangeHarness> {
  const [azurite, sim, sink, broker] = await Promise.all([
    startAzuriteTables({ inMemory: true }),
    startEntraGraphSimulator(),
    startAppInsightsSink(),
    options.serviceBus ? startServiceBusBroker({ queues: [{ name: TEST_QUEUE, duplicateDetectionWindowMs: 600_000 }] }) : undefined,
  ]);
  const telemetry = createTelemetry(sink.connectionString, { offlineStorage: false });
  const deps = buildDependencies(
    readSettings({
      TablesConnection: azurite.connectionString,
      GRAPH_BASE_URL: sim.url,
      ENTRA_AUTHORITY_HOST: sim.url,
      SECRET_PROTECTION_KEY: TEST_PROTECTION_KEY,
      APPLICATIONINSIGHTS_CONNECTION_STRING: sink.connectionString,
      GRAPH_REQUEST_TIMEOUT_MS: '1500',
      APPOINTMENTS_QUEUE: TEST_QUEUE,
      ...(broker ? { ServiceBusConnection: broker.connectionString } : {}),
      ...settings,
    }),
    { telemetry },
  );
  const logs: LogLine[] = [];
  const handler = makeSyncAppointmentHandler(() => deps);
  let invocation = 0;

  return {
    azurite,
    sim,
    sink,
    broker,
    deps,
    logs,
    async seedConnector(input) {
      await deps.connectors.save({ type: 'Exchange', name: input.connectorId, allowedToSend: true, ...input });
    },
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
    async close() {
      await telemetry.shutdown();
      await deps.replayPublisher.close();
      if (broker) await deps.serviceBus().close();
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
