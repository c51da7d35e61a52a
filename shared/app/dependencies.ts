import { readSettings, type Settings } from '../config/settings';
import { CredentialCache } from '../exchange/credentials';
import { ExchangeDeliverer } from '../exchange/exchangeDeliverer';
import { GraphCalendarGateway, type GraphGatewayOptions } from '../exchange/graphGateway';
import type { SyncDependencies } from '../pipeline/syncAppointment';
import { AppointmentVersionStore } from '../storage/appointmentVersions';
import { ConnectorStore } from '../storage/connectors';
import { EventMappingStore } from '../storage/eventMappings';
import { RetryIndexStore } from '../storage/retryIndex';
import { createSecretProtector, parseKey, type SecretProtector } from '../storage/secretProtector';
import { createTableProvider, type TableProvider } from '../storage/tableClients';
import { TransactionStore } from '../storage/transactions';
import { createTelemetry } from '../telemetry/appInsightsTelemetry';
import type { Telemetry } from '../telemetry/telemetry';
import { createWebhookDeliverer } from '../webhook/compose';
import type { ServiceBusClient } from '@azure/service-bus';
import { ConnectorsService } from '../errorsApi/connectorsService';
import { TransactionsService } from '../errorsApi/transactionsService';
import { createServiceBusClient } from '../messaging/serviceBus';
import { ServiceBusReplayPublisher } from '../messaging/replayPublisher';

export interface AppDependencies extends SyncDependencies {
  settings: Settings;
  tables: TableProvider;
  mappings: EventMappingStore;
  calendar: GraphCalendarGateway;
  credentials: CredentialCache;
  /** created on first use: the sync path never needs a sender */
  serviceBus: () => ServiceBusClient;
  replayPublisher: ServiceBusReplayPublisher;
  transactionsService: TransactionsService;
  connectorsService: ConnectorsService;
}

function protectorFrom(settings: Settings): SecretProtector {
  if (!settings.SECRET_PROTECTION_KEY) {
    const missing = () => {
      throw new Error('SECRET_PROTECTION_KEY is not set: connector secrets cannot be stored or read.');
    };
    return { protect: missing, unprotect: missing };
  }
  return createSecretProtector(parseKey(settings.SECRET_PROTECTION_KEY));
}

/**
 * Gateway tuning that is not an app setting: production keeps the gateway's defaults (a 20 s
 * Retry-After cap, 500 ms backoff base); test rigs shrink them so real-time waits stay short.
 */
export type GraphGatewayTuning = Pick<GraphGatewayOptions, 'maxRetryAfterSeconds' | 'baseDelayMs'>;

/** The composition root: every long-lived client is built once per process and shared by invocations. */
export function buildDependencies(
  settings: Settings,
  overrides: { telemetry?: Telemetry; tables?: TableProvider; serviceBus?: () => ServiceBusClient; graph?: GraphGatewayTuning } = {},
): AppDependencies {
  const tables =
    overrides.tables ??
    createTableProvider({
      connectionString: settings.TablesConnection,
      tableServiceUri: settings.TablesConnection__tableServiceUri,
      managedIdentityClientId: settings.AZURE_CLIENT_ID,
      requestTimeoutMs: settings.STORAGE_REQUEST_TIMEOUT_MS,
    });
  const protector = protectorFrom(settings);
  const telemetry = overrides.telemetry ?? createTelemetry(settings.APPLICATIONINSIGHTS_CONNECTION_STRING, {
    authenticationString: settings.APPLICATIONINSIGHTS_AUTHENTICATION_STRING,
  });
  const mappings = new EventMappingStore(tables);
  const credentials = new CredentialCache(settings.GRAPH_REQUEST_TIMEOUT_MS);
  const calendar = new GraphCalendarGateway({
    requestTimeoutMs: settings.GRAPH_REQUEST_TIMEOUT_MS,
    maxConcurrencyPerMailbox: settings.GRAPH_MAX_CONCURRENCY_PER_MAILBOX,
    ...overrides.graph,
  });
  let serviceBusClient: ServiceBusClient | undefined;
  const serviceBus =
    overrides.serviceBus ??
    (() =>
      (serviceBusClient ??= createServiceBusClient({
        connectionString: settings.ServiceBusConnection,
        fullyQualifiedNamespace: settings.ServiceBusConnection__fullyQualifiedNamespace,
        managedIdentityClientId: settings.AZURE_CLIENT_ID,
      })));
  const transactions = new TransactionStore(tables);
  const connectors = new ConnectorStore(tables, protector);
  const replayPublisher = new ServiceBusReplayPublisher(serviceBus, settings.APPOINTMENTS_QUEUE);
  return {
    settings,
    tables,
    mappings,
    calendar,
    credentials,
    serviceBus,
    replayPublisher,
    transactionsService: new TransactionsService(transactions, replayPublisher),
    connectorsService: new ConnectorsService(connectors),
    connectors,
    transactions,
    retryIndex: new RetryIndexStore(tables),
    versions: new AppointmentVersionStore(tables),
    telemetry,
    deliverers: {
      Exchange: new ExchangeDeliverer({
        credentials,
        calendar,
        mappings,
        protector,
        defaults: { graphBaseUrl: settings.GRAPH_BASE_URL, authorityHost: settings.ENTRA_AUTHORITY_HOST },
      }),
      Webhook: createWebhookDeliverer(settings, { tables, protector, telemetry }),
    },
  };
}

let shared: AppDependencies | undefined;

/** Built on first use, from the app settings, so a bad setting fails the first invocation loudly. */
export function appDependencies(): AppDependencies {
  shared ??= buildDependencies(readSettings());
  return shared;
}

/**
 * Sends whatever telemetry still holds and stops its exporter. A sync that only succeeded does not
 * wait for its event to be sent (pipeline/syncAppointment): the host's appTerminate hook calls this
 * so nothing is left unsent when the worker stops. Nothing to do if no invocation built the app.
 */
export async function shutdownAppDependencies(): Promise<void> {
  const deps = shared;
  if (!deps) return;
  await deps.telemetry.flush();
  await deps.telemetry.shutdown();
}
