import { randomBytes } from 'node:crypto';
import { startAzuriteTables, type AzuriteTables } from './azurite';
import { startServiceBusBroker, type ServiceBusBroker } from './serviceBus/broker';
import { brokerQueueOptions, readQueueProperties, type QueueProperties } from './serviceBus/queueProperties';
import { startEntraGraphSimulator, type EntraGraphSimulator } from './simulators/entraGraph';
import { startTableFaultProxy, type TableFaultProxy } from './simulators/tableFaults';
import { ensureTestCaTrusted } from './simulators/tls';

/**
 * What `npm start` runs on loopback in place of Azure: each part only where the app settings do not
 * point at a real endpoint (settings are read as in Azure: environment, then local.settings.json).
 */
export interface LocalServicesPlan {
  /** Azurite: TablesConnection unset, UseDevelopmentStorage=true, or the Azurite account devstoreaccount1 */
  tables: boolean;
  /** the Service Bus broker: ServiceBusConnection unset or UseDevelopmentEmulator=true */
  serviceBus: boolean;
  /** the Entra + Graph simulator: ENTRA_AUTHORITY_HOST and GRAPH_BASE_URL both unset */
  entraGraph: boolean;
}

const isSet = (value: string | undefined): value is string => value !== undefined && value.trim() !== '';

export function planLocalServices(env: NodeJS.ProcessEnv): LocalServicesPlan {
  const tables = env.TablesConnection;
  const bus = env.ServiceBusConnection;
  return {
    tables:
      !isSet(env.TablesConnection__tableServiceUri) &&
      (!isSet(tables) || /UseDevelopmentStorage=true/i.test(tables) || /AccountName=devstoreaccount1(;|$)/i.test(tables)),
    serviceBus: !isSet(env.ServiceBusConnection__fullyQualifiedNamespace) && (!isSet(bus) || /UseDevelopmentEmulator=true/i.test(bus)),
    entraGraph: !isSet(env.ENTRA_AUTHORITY_HOST) && !isSet(env.GRAPH_BASE_URL),
  };
}

export interface LocalServices {
  plan: LocalServicesPlan;
  queueName: string;
  queueProperties: QueueProperties;
  azurite?: AzuriteTables;
  /** in front of Azurite when faults are wanted (the demo's storage stories) */
  tableFaults?: TableFaultProxy;
  broker?: ServiceBusBroker;
  entraGraph?: EntraGraphSimulator;
  /** one line per part: what runs where */
  describe(): string[];
  close(): Promise<void>;
}

/**
 * Starts the planned parts and writes the settings that point the app at them into `env`, as an app
 * setting would. The Service Bus queue gets the properties of infra/appointments-queue.json.
 */
export async function startLocalServices(
  env: NodeJS.ProcessEnv,
  plan: LocalServicesPlan,
  options: { root: string; tableFaults?: boolean },
): Promise<LocalServices> {
  const queueName = isSet(env.APPOINTMENTS_QUEUE) ? env.APPOINTMENTS_QUEUE : 'appointments';
  const queueProperties = readQueueProperties(options.root);
  // The simulators serve HTTPS with dev/certs; the app in this process must trust their CA.
  if (plan.entraGraph) ensureTestCaTrusted();

  const started: Array<{ close(): Promise<void> }> = [];
  const closeAll = async () => {
    await Promise.allSettled(started.reverse().map((s) => s.close()));
  };
  try {
    const [azurite, broker, entraGraph] = await Promise.all([
      plan.tables ? startAzuriteTables({ inMemory: true }).then((a) => (started.push(a), a)) : undefined,
      plan.serviceBus ? startServiceBusBroker({ queues: [brokerQueueOptions(queueName, queueProperties)] }).then((b) => (started.push(b), b)) : undefined,
      plan.entraGraph ? startEntraGraphSimulator().then((s) => (started.push(s), s)) : undefined,
    ]);
    const tableFaults = azurite && options.tableFaults ? await startTableFaultProxy({ target: azurite.tableEndpoint }) : undefined;
    if (tableFaults) started.push(tableFaults);

    if (azurite) {
      env.TablesConnection = (tableFaults ?? azurite).connectionString;
      delete env.TablesConnection__tableServiceUri;
      // Azurite starts empty: a key of its own for this run's connector secrets.
      if (!isSet(env.SECRET_PROTECTION_KEY)) env.SECRET_PROTECTION_KEY = randomBytes(32).toString('base64');
    }
    // The trigger names the queue as %APPOINTMENTS_QUEUE%: an app setting the host must resolve.
    env.APPOINTMENTS_QUEUE = queueName;
    if (broker) {
      env.ServiceBusConnection = broker.connectionString;
      delete env.ServiceBusConnection__fullyQualifiedNamespace;
    }
    if (entraGraph) {
      env.ENTRA_AUTHORITY_HOST = entraGraph.url;
      env.GRAPH_BASE_URL = entraGraph.url;
    }

    return {
      plan,
      queueName,
      queueProperties,
      ...(azurite ? { azurite } : {}),
      ...(tableFaults ? { tableFaults } : {}),
      ...(broker ? { broker } : {}),
      ...(entraGraph ? { entraGraph } : {}),
      describe() {
        return [
          azurite
            ? `Table Storage       Azurite (pid ${azurite.pid}) on ${azurite.tableEndpoint}${tableFaults ? `, through the fault proxy ${tableFaults.tableEndpoint}` : ''}`
            : `Table Storage       ${isSet(env.TablesConnection__tableServiceUri) ? env.TablesConnection__tableServiceUri : 'TablesConnection (from the settings)'}`,
          broker
            ? `Service Bus         broker on amqp://127.0.0.1:${broker.port}, queue '${queueName}' (max delivery count ${queueProperties.maxDeliveryCount}, lock ${queueProperties.lockDuration})`
            : `Service Bus         ${isSet(env.ServiceBusConnection__fullyQualifiedNamespace) ? env.ServiceBusConnection__fullyQualifiedNamespace : 'ServiceBusConnection (from the settings)'}, queue '${queueName}'`,
          entraGraph ? `Entra ID + Graph    simulator on ${entraGraph.url}` : `Entra ID + Graph    ${env.ENTRA_AUTHORITY_HOST ?? '(default)'} + ${env.GRAPH_BASE_URL ?? '(default)'}`,
        ];
      },
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
