import { InvocationContext } from '@azure/functions';
import { DefaultAzureCredential } from '@azure/identity';
import { ServiceBusClient, type ServiceBusReceivedMessage, type ServiceBusReceiver } from '@azure/service-bus';
import type { RegisteredFunction } from './fakeCore';
import { resolveSetting } from './settings';

export interface ServiceBusHostOptions {
  functions: Iterable<RegisteredFunction>;
  env: NodeJS.ProcessEnv;
  /** host.json extensions.serviceBus.maxConcurrentCalls */
  maxConcurrentCalls: number;
  log: (line: string) => void;
  /** called after each invocation settles: tests and the demo wait on it */
  onSettled?: (outcome: { functionName: string; messageId: string; ok: boolean }) => void;
}

export interface ServiceBusHost {
  close(): Promise<void>;
}

function clientFor(connection: string, env: NodeJS.ProcessEnv): ServiceBusClient {
  const connectionString = env[connection];
  if (connectionString) return new ServiceBusClient(connectionString);
  const namespace = env[`${connection}__fullyQualifiedNamespace`];
  if (namespace) return new ServiceBusClient(namespace, new DefaultAzureCredential({ managedIdentityClientId: env.AZURE_CLIENT_ID }));
  throw new Error(`Service Bus connection '${connection}' is not configured (set ${connection} or ${connection}__fullyQualifiedNamespace).`);
}

/** The trigger metadata the Functions host hands a Service Bus-triggered function (camelCased). */
function triggerMetadata(message: ServiceBusReceivedMessage): Record<string, unknown> {
  return {
    messageId: message.messageId,
    deliveryCount: message.deliveryCount,
    enqueuedTimeUtc: message.enqueuedTimeUtc?.toISOString(),
    sequenceNumber: message.sequenceNumber?.toString(),
    contentType: message.contentType,
    applicationProperties: message.applicationProperties ?? {},
  };
}

/**
 * Peek-lock consumption as the Functions host does it with autoComplete: complete when the function
 * returns, abandon when it throws; the queue dead-letters once its max delivery count is reached.
 */
export function startServiceBusHost(options: ServiceBusHostOptions): ServiceBusHost {
  const clients: ServiceBusClient[] = [];
  const receivers: ServiceBusReceiver[] = [];
  for (const fn of options.functions) {
    const trigger = Object.values(fn.metadata.bindings).find((b) => b.type === 'serviceBusTrigger');
    if (!trigger) continue;
    const queueName = resolveSetting(String(trigger.queueName), options.env);
    const client = clientFor(String(trigger.connection), options.env);
    const receiver = client.createReceiver(queueName, { receiveMode: 'peekLock' });
    clients.push(client);
    receivers.push(receiver);
    receiver.subscribe(
      {
        processMessage: async (message) => {
          const context = new InvocationContext({
            functionName: fn.metadata.name,
            triggerMetadata: triggerMetadata(message),
            logHandler: (level, ...args) => options.log(`[${fn.metadata.name}] ${level}: ${args.map(String).join(' ')}`),
          });
          const messageId = String(message.messageId);
          try {
            await fn.handler(message.body, context);
          } catch (error) {
            options.log(`[${fn.metadata.name}] message ${messageId} failed (delivery ${message.deliveryCount}): ${String(error)}`);
            await receiver.abandonMessage(message);
            options.onSettled?.({ functionName: fn.metadata.name, messageId, ok: false });
            return;
          }
          await receiver.completeMessage(message);
          options.onSettled?.({ functionName: fn.metadata.name, messageId, ok: true });
        },
        processError: async (args) => {
          options.log(`[${fn.metadata.name}] Service Bus error (${args.errorSource}): ${String(args.error)}`);
        },
      },
      { autoCompleteMessages: false, maxConcurrentCalls: options.maxConcurrentCalls },
    );
    options.log(`[${fn.metadata.name}] listening on Service Bus queue '${queueName}'`);
  }
  return {
    async close() {
      await Promise.allSettled(receivers.map((r) => r.close()));
      await Promise.allSettled(clients.map((c) => c.close()));
    },
  };
}
