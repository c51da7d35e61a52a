import type { ServiceBusClient } from '@azure/service-bus';

export interface ServiceBusConnection {
  connectionString?: string;
  fullyQualifiedNamespace?: string;
  managedIdentityClientId?: string;
}

/**
 * The same settings the trigger binding reads (ServiceBusConnection / __fullyQualifiedNamespace), so
 * what the app sends lands on the queue it listens to, locally and in Azure.
 */
export function createServiceBusClient(connection: ServiceBusConnection): ServiceBusClient {
  // Loaded here, not at start-up: only replays send, and the AMQP stack is a heavy require.
  const { ServiceBusClient } = require('@azure/service-bus') as typeof import('@azure/service-bus');
  if (connection.connectionString) return new ServiceBusClient(connection.connectionString);
  if (connection.fullyQualifiedNamespace) {
    const { DefaultAzureCredential } = require('@azure/identity') as typeof import('@azure/identity');
    return new ServiceBusClient(connection.fullyQualifiedNamespace, new DefaultAzureCredential({ managedIdentityClientId: connection.managedIdentityClientId }));
  }
  throw new Error('No Service Bus connection: set ServiceBusConnection (connection string) or ServiceBusConnection__fullyQualifiedNamespace.');
}
