import { performance } from 'node:perf_hooks';
import { ensureTestCaTrusted } from '../../dev/simulators/tls';

/**
 * What every benchmark process needs before it talks to the loopback simulators: trust the test CA
 * (Node reads NODE_EXTRA_CA_CERTS only at start-up; `npm run bench` is a plain tsx process) and keep
 * Application Insights' statsbeat from reaching for Azure hosts.
 */
export function prepareBenchProcess(): void {
  process.env.APPLICATION_INSIGHTS_NO_STATSBEAT = 'true';
  ensureTestCaTrusted();
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))]!;
}

export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/**
 * Runs measurements side by side: `warmup` rounds first (discarded), then `rounds` rounds in which
 * every candidate runs once, in an order that rotates each round, so none always follows another.
 * Returns every kept sample of each candidate, in ms.
 */
export async function alternate(candidates: ReadonlyArray<(round: number) => Promise<unknown>>, options: { warmup: number; rounds: number }): Promise<number[][]> {
  const out = candidates.map(() => [] as number[]);
  for (let round = 0; round < options.warmup + options.rounds; round++) {
    for (let k = 0; k < candidates.length; k++) {
      const i = (round + k) % candidates.length;
      const ms = await timed(() => candidates[i]!(round));
      if (round >= options.warmup) out[i]!.push(ms);
    }
  }
  return out;
}

/** Runs `fn` over `items` with at most `concurrency` at once (like the Service Bus trigger's maxConcurrentCalls). */
export async function pool<T>(items: readonly T[], concurrency: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      await fn(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

export const fmt = (ms: number): string => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));
export const int = (n: number): string => n.toLocaleString('en-US');
