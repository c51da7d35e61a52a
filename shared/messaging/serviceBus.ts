import { ServiceBusClient } from '@azure/service-bus';
import { DefaultAzureCredential } from '@azure/identity';

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
  if (connection.connectionString) return new ServiceBusClient(connection.connectionString);
  if (connection.fullyQualifiedNamespace) {
    return new ServiceBusClient(connection.fullyQualifiedNamespace, new DefaultAzureCredential({ managedIdentityClientId: connection.managedIdentityClientId }));
  }
  throw new Error('No Service Bus connection: set ServiceBusConnection (connection string) or ServiceBusConnection__fullyQualifiedNamespace.');
}
