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
  /**
   * host.json extensions.serviceBus.maxAutoLockRenewalDuration, in milliseconds (the host's default is
   * 5 minutes; 0 turns lock renewal off, and a lock then lasts the queue's lock duration).
   */
  maxAutoLockRenewalDurationMs?: number;
  /**
   * Called once after each invocation, whether or not its settlement reached the broker: tests and the
   * demo wait on it. `ok` is the function's outcome; `settlementError` says why completing or
   * abandoning failed (typically a lost lock): the broker then delivers the message again by itself
   * once its lock expires, as a new invocation.
   */
  onSettled?: (outcome: SettledOutcome) => void;
}

export interface SettledOutcome {
  functionName: string;
  messageId: string;
  ok: boolean;
  settlementError?: string;
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

/** A host.json TimeSpan (`hh:mm:ss`, `d.hh:mm:ss`, optional `.fffffff` fraction) in milliseconds. */
export function timeSpanMs(value: string): number {
  const m = /^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(value.trim());
  if (!m) throw new Error(`'${value}' is not a TimeSpan such as 00:05:00`);
  const [, days = '0', hours, minutes, seconds] = m;
  return Math.round((((Number(days) * 24 + Number(hours)) * 60 + Number(minutes)) * 60 + Number(seconds)) * 1000);
}

/** The trigger metadata the Functions host hands a Service Bus-triggered function (camelCased). */
function triggerMetadata(message: ServiceBusReceivedMessage): Record<string, unknown> {
  return {
    messageId: message.messageId,
    // 1 on the first delivery, as the host's .NET client reports it (the JS client counts from 0).
    deliveryCount: (message.deliveryCount ?? 0) + 1,
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
    const receiver = client.createReceiver(queueName, {
      receiveMode: 'peekLock',
      ...(options.maxAutoLockRenewalDurationMs !== undefined ? { maxAutoLockRenewalDurationInMs: options.maxAutoLockRenewalDurationMs } : {}),
    });
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
          let ok = true;
          try {
            await fn.handler(message.body, context);
          } catch (error) {
            ok = false;
            options.log(`[${fn.metadata.name}] message ${messageId} failed (delivery ${(message.deliveryCount ?? 0) + 1}): ${String(error)}`);
          }
          // A settlement that fails (lost lock, broken link) must neither escape to the SDK nor keep
          // the invocation from being reported: the message comes back by itself when its lock expires.
          let settlementError: string | undefined;
          try {
            if (ok) await receiver.completeMessage(message);
            else await receiver.abandonMessage(message);
          } catch (error) {
            settlementError = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
            options.log(
              `[${fn.metadata.name}] message ${messageId}: ${ok ? 'complete' : 'abandon'} failed (${settlementError}); Service Bus delivers it again once its lock expires`,
            );
          }
          options.onSettled?.({ functionName: fn.metadata.name, messageId, ok, ...(settlementError !== undefined ? { settlementError } : {}) });
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
