/**
 * Programmable misbehaviour shared by the Entra and Graph halves of the simulator.
 *
 * Precedence when a request arrives: the scoped queue (e.g. this mailbox), then the global queue,
 * then scoped chaos, then global chaos. Queues are deterministic ("the next 2 POSTs to alice get a
 * 429"); chaos draws from a seeded RNG so a failing chaos run can be replayed with the same seed.
 */

export interface FaultMatch {
  /** Only requests with this HTTP method (or one of these) consume the fault. */
  method?: string | readonly string[];
}

export interface ChaosOptions<F> {
  /** 0..1 chance that a request gets one of `faults` instead of a normal answer. */
  probability: number;
  /** Seed for the RNG; same seed + same request order ⇒ same faults. */
  seed: number;
  /** Picked uniformly, or by `weight` when given. */
  faults: ReadonlyArray<F | { fault: F; weight: number }>;
  method?: FaultMatch['method'];
}

interface QueuedFault<F> {
  fault: F;
  remaining: number;
  method: readonly string[] | undefined;
}

interface Chaos<F> {
  probability: number;
  random: () => number;
  faults: Array<{ fault: F; weight: number }>;
  totalWeight: number;
  method: readonly string[] | undefined;
}

/** mulberry32: tiny, fast, good enough to make chaos reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const GLOBAL = '\u0000global';

function normaliseMethods(method: FaultMatch['method']): readonly string[] | undefined {
  if (method === undefined) return undefined;
  return (typeof method === 'string' ? [method] : method).map((m) => m.toUpperCase());
}

function methodMatches(methods: readonly string[] | undefined, method: string): boolean {
  return methods === undefined || methods.includes(method.toUpperCase());
}

export class FaultPlan<F> {
  private readonly queues = new Map<string, QueuedFault<F>[]>();
  private readonly chaos = new Map<string, Chaos<F>>();

  /** The next `times` matching requests in `scope` (or anywhere, without a scope) get `fault`. */
  enqueue(fault: F, options: { scope?: string; times?: number } & FaultMatch = {}): void {
    const key = options.scope ?? GLOBAL;
    const queue = this.queues.get(key) ?? [];
    queue.push({ fault, remaining: options.times ?? 1, method: normaliseMethods(options.method) });
    this.queues.set(key, queue);
  }

  setChaos(options: ChaosOptions<F> & { scope?: string }): void {
    if (!(options.probability >= 0 && options.probability <= 1)) throw new Error('chaos probability must be within 0..1');
    const faults = options.faults.map((f) =>
      typeof f === 'object' && f !== null && 'fault' in f && 'weight' in f
        ? { fault: f.fault, weight: f.weight }
        : { fault: f as F, weight: 1 },
    );
    if (faults.length === 0) throw new Error('chaos needs at least one fault');
    this.chaos.set(options.scope ?? GLOBAL, {
      probability: options.probability,
      random: seededRandom(options.seed),
      faults,
      totalWeight: faults.reduce((sum, f) => sum + f.weight, 0),
      method: normaliseMethods(options.method),
    });
  }

  /** Removes queued faults and chaos for one scope, or everything when no scope is given. */
  clear(scope?: string): void {
    if (scope === undefined) {
      this.queues.clear();
      this.chaos.clear();
    } else {
      this.queues.delete(scope);
      this.chaos.delete(scope);
    }
  }

  /** Queued faults not yet consumed (for assertions that a plan was used up). */
  pending(scope?: string): number {
    const queue = this.queues.get(scope ?? GLOBAL) ?? [];
    return queue.reduce((sum, q) => sum + q.remaining, 0);
  }

  /** Decides the fate of one request; undefined means "answer normally". */
  take(scope: string | undefined, method: string): F | undefined {
    const keys = scope === undefined ? [GLOBAL] : [scope, GLOBAL];
    for (const key of keys) {
      const fault = this.takeQueued(key, method);
      if (fault !== undefined) return fault;
    }
    for (const key of keys) {
      const chaos = this.chaos.get(key);
      if (!chaos || !methodMatches(chaos.method, method)) continue;
      if (chaos.random() >= chaos.probability) continue;
      let pick = chaos.random() * chaos.totalWeight;
      for (const candidate of chaos.faults) {
        pick -= candidate.weight;
        if (pick < 0) return candidate.fault;
      }
      return chaos.faults[chaos.faults.length - 1]?.fault;
    }
    return undefined;
  }

  private takeQueued(key: string, method: string): F | undefined {
    const queue = this.queues.get(key);
    if (!queue) return undefined;
    const index = queue.findIndex((q) => methodMatches(q.method, method));
    const entry = queue[index];
    if (!entry) return undefined;
    entry.remaining -= 1;
    if (entry.remaining <= 0) queue.splice(index, 1);
    return entry.fault;
  }
}
