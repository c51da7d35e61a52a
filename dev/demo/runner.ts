import { ServiceBusClient } from '@azure/service-bus';
import { rowsOf, type DemoParams, type Scenario } from './scenario';
import type { DemoContext, DemoWorld, Settled } from './world';

/**
 * Follows the host's settlements (ServiceBusHostOptions.onSettled) per message id: a message is
 * settled once an invocation completed it, or once it failed as often as the queue's max delivery
 * count (then Service Bus has dead-lettered it).
 */
export class SettleTracker {
  private readonly failures = new Map<string, number>();
  private readonly waiters = new Map<string, (settled: Settled) => void>();
  private readonly done = new Map<string, Settled>();

  constructor(private readonly maxDeliveryCount: number) {}

  /** Hand to startLocalHost({ onSettled }). */
  readonly onSettled = (outcome: { messageId: string; ok: boolean }): void => {
    const failed = (this.failures.get(outcome.messageId) ?? 0) + (outcome.ok ? 0 : 1);
    this.failures.set(outcome.messageId, failed);
    if (!outcome.ok && failed < this.maxDeliveryCount) return;
    const settled: Settled = { messageId: outcome.messageId, outcome: outcome.ok ? 'completed' : 'dead-lettered', deliveries: failed + (outcome.ok ? 1 : 0) };
    this.done.set(outcome.messageId, settled);
    this.waiters.get(outcome.messageId)?.(settled);
    this.waiters.delete(outcome.messageId);
  };

  wait(messageId: string): Promise<Settled> {
    const settled = this.done.get(messageId);
    if (settled) return Promise.resolve(settled);
    return new Promise((resolve) => this.waiters.set(messageId, resolve));
  }

  settled(): Settled[] {
    return [...this.done.values()];
  }

  /** messages the demo is still waiting for */
  pending(): string[] {
    return [...this.waiters.keys()];
  }
}

export interface BatchResult {
  settled: Settled[];
  /** scenarios whose own steps failed (a simulator call, a missing mapping): reported, not fatal */
  problems: Array<{ scenario: string; error: string }>;
  expectedRows: number;
  durationMs: number;
}

/** Runs every scenario concurrently against the running host and resolves once all have settled. */
export async function runDemoBatch(
  scenarios: readonly Scenario[],
  base: DemoWorld,
  options: { serviceBusConnection: string; queueName: string; tracker: SettleTracker; params: DemoParams; settleTimeoutMs?: number },
): Promise<BatchResult> {
  const started = Date.now();
  const client = new ServiceBusClient(options.serviceBusConnection);
  const sender = client.createSender(options.queueName);
  const ctx: DemoContext = {
    ...base,
    async send({ messageId, body }) {
      const settled = options.tracker.wait(messageId);
      await sender.sendMessages({ messageId, body, contentType: 'application/json' });
      return settled;
    },
  };
  const problems: BatchResult['problems'] = [];
  let timer: NodeJS.Timeout | undefined;
  // A story that never settles (a bug, a host that stopped consuming) must not hide the summary.
  const deadline = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), options.settleTimeoutMs ?? 120_000);
    timer.unref();
  });
  try {
    const all = Promise.all(
      scenarios.map((s) =>
        s.run(ctx).catch((error: unknown) => {
          problems.push({ scenario: s.name, error: error instanceof Error ? error.message : String(error) });
        }),
      ),
    );
    if ((await Promise.race([all, deadline])) === 'late') {
      problems.push({ scenario: 'the batch', error: `not settled in time; still waiting for ${options.tracker.pending().join(', ') || 'a story to finish'}` });
    }
  } finally {
    clearTimeout(timer);
    await sender.close().catch(() => undefined);
    await client.close().catch(() => undefined);
  }
  return {
    settled: options.tracker.settled(),
    problems,
    expectedRows: scenarios.reduce((n, s) => n + rowsOf(s, options.params).length, 0),
    durationMs: Date.now() - started,
  };
}
