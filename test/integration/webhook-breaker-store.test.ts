import type { TableClient } from '@azure/data-tables';
import { BrokenCircuitError, TaskCancelledError } from 'cockatiel';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { azuriteTablesConnectionString, startAzuriteTables, type AzuriteTables } from '../../dev/azurite';
import { startTableFaultProxy, type TableFaultProxy } from '../../dev/simulators/tableFaults';
import { createTableProvider, key, TABLES, type TableProvider } from '../../shared/storage/tableClients';
import type { BreakerState } from '../../shared/webhook/breakerState';
import { SharedCircuitBreaker, storedBreakerState, type BreakerKey, type SharedBreakerSettings } from '../../shared/webhook/sharedBreaker';
import { startBlackHole, type BlackHole } from '../support/blackHole';

/**
 * The shared breaker against its real store (Azurite), where the handler-level tests cannot steer the
 * timing: ETag races lost over and over, a call that outlives a connector edit, a store that hangs.
 */
const SETTINGS: SharedBreakerSettings = { failureThreshold: 3, breakMs: 1_000, probeLeaseMs: 30_000, storeBudgetMs: 300 };
const HOUR = 3_600_000;

let azurite: AzuriteTables;
let proxy: TableFaultProxy;
let direct: TableProvider;
let viaProxy: TableProvider;
let seq = 0;

beforeAll(async () => {
  azurite = await startAzuriteTables({ inMemory: true });
  proxy = await startTableFaultProxy({ target: azurite.tableEndpoint });
  direct = createTableProvider({ connectionString: azurite.connectionString });
  viaProxy = createTableProvider({ connectionString: proxy.connectionString });
});

afterAll(async () => {
  await proxy?.close();
  await azurite?.close();
});

afterEach(() => {
  expect(proxy.pending(), 'every injected fault was used').toBe(0);
});

function breakerKey(configVersion = 1): BreakerKey {
  seq += 1;
  return { tenantId: 'contoso', connectorId: `store-${seq}`, configVersion };
}

/** Writes the row as another instance would have left it. */
async function seed(k: BreakerKey, state: BreakerState): Promise<void> {
  const client = await direct.table(TABLES.webhookBreakers);
  const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
  const entity = Object.fromEntries(
    Object.entries({ ...state, openedAt: iso(state.openedAt), probeUntil: iso(state.probeUntil), updatedAt: new Date().toISOString() }).filter(([, v]) => v !== undefined),
  );
  await client.upsertEntity({ partitionKey: key(k.tenantId), rowKey: key(k.connectorId), ...entity }, 'Replace');
}

const stored = (k: BreakerKey) => storedBreakerState(direct, k.tenantId, k.connectorId);

/** Open long ago: the break is over and the next caller would be the half-open probe. */
const probeDue = (configVersion = 1): BreakerState => ({ phase: 'Open', consecutiveFailures: 3, configVersion, openedAt: Date.now() - HOUR, lastFailureCode: 'DSWBHK020' });

/** The breaker table as seen by an instance whose rival rewrites the row just before each of its writes. */
function withRival(rival: (write: number) => Promise<void>): TableProvider {
  let writes = 0;
  return {
    async table(name) {
      const real = await direct.table(name);
      if (name !== TABLES.webhookBreakers) return real;
      return new Proxy(real, {
        get(target, property, receiver) {
          if (property !== 'updateEntity' && property !== 'createEntity') return Reflect.get(target, property, receiver);
          return async (...args: unknown[]) => {
            writes += 1;
            await rival(writes);
            return (Reflect.get(target, property, receiver) as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          };
        },
      }) as TableClient;
    },
  };
}

describe('admit under contention decides from the state it read last', () => {
  it('short-circuits every caller that keeps losing the race for the probe, instead of letting them all through', async () => {
    const k = breakerKey();
    await seed(k, probeDue());
    proxy.inject({ methods: ['PUT'], table: TABLES.webhookBreakers, times: 15, fault: { kind: 'status', status: 412, code: 'UpdateConditionNotSatisfied' } });
    const breaker = new SharedCircuitBreaker(viaProxy, SETTINGS);

    const results = await Promise.allSettled([breaker.admit(k), breaker.admit(k), breaker.admit(k)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    for (const r of results) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(BrokenCircuitError);
    expect(proxy.answered()).toMatchObject({ UpdateConditionNotSatisfied: 15 }); // 5 lost races each, then no more spinning
    expect(await stored(k)).toMatchObject({ phase: 'Open' });

    // Control: once the races stop, exactly the next caller becomes the probe.
    const probe = await breaker.admit(k);
    expect(probe.probeId).toBeDefined();
    await expect(breaker.admit(k)).rejects.toBeInstanceOf(BrokenCircuitError);
  });

  it('a probe already out when it finally re-reads: short-circuited', async () => {
    const k = breakerKey();
    await seed(k, probeDue());
    const breaker = new SharedCircuitBreaker(
      withRival(async (write) => {
        // Four rivals touch the row (it still wants a probe); the fifth claims the probe itself.
        await seed(k, write < 5 ? probeDue() : { ...probeDue(), phase: 'HalfOpen', probeId: 'rival', probeUntil: Date.now() + HOUR });
      }),
      SETTINGS,
    );
    await expect(breaker.admit(k)).rejects.toBeInstanceOf(BrokenCircuitError);
    expect(await stored(k)).toMatchObject({ phase: 'HalfOpen', probeId: 'rival' });
  });

  it('the rival probe already closed it when it finally re-reads: admitted (as an ordinary call)', async () => {
    const k = breakerKey();
    await seed(k, probeDue());
    const breaker = new SharedCircuitBreaker(
      withRival(async (write) => seed(k, write < 5 ? probeDue() : { phase: 'Closed', consecutiveFailures: 0, configVersion: 1 })),
      SETTINGS,
    );
    const ticket = await breaker.admit(k);
    expect(ticket).toEqual({ key: k });
    expect(await stored(k)).toMatchObject({ phase: 'Closed' });
  });
});

describe('a call older than a connector edit', () => {
  it('does not overwrite the breaker state of the newer configuration when it ends', async () => {
    const older = breakerKey(1);
    const newer: BreakerKey = { ...older, configVersion: 2 };
    const breaker = new SharedCircuitBreaker(direct, SETTINGS);
    const ticket = await breaker.admit(older); // loaded at version 1, nothing stored yet: admitted
    // Meanwhile the connector is saved (version 2) and its deliveries open the breaker.
    for (let i = 0; i < SETTINGS.failureThreshold; i += 1) await breaker.record(await breaker.admit(newer), { counted: true, code: 'DSWBHK010' });
    const open = await stored(older);
    expect(open).toMatchObject({ phase: 'Open', configVersion: 2, consecutiveFailures: 3 });

    await breaker.record(ticket, { counted: true, code: 'DSWBHK020' });
    await breaker.record(ticket, { counted: false });
    expect(await stored(older)).toEqual(open);
    await expect(breaker.admit(newer)).rejects.toBeInstanceOf(BrokenCircuitError);
  });
});

describe('a breaker store that hangs', () => {
  let hole: BlackHole;
  beforeAll(async () => {
    hole = await startBlackHole();
  });
  afterAll(async () => {
    await hole?.close();
  });

  /** Settles with the value and how long it took, or with 'still waiting' after `ms`. */
  async function within<T>(ms: number, work: Promise<T>): Promise<{ value: T | 'still waiting'; elapsed: number }> {
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const value = await Promise.race([work, new Promise<'still waiting'>((resolve) => (timer = setTimeout(() => resolve('still waiting'), ms)))]);
    clearTimeout(timer);
    return { value, elapsed: Date.now() - started };
  }

  it('fails open within storeBudgetMs for admit and for record, and reports each once, whatever the SDK would wait', async () => {
    // The product's own provider: a 10 s per-request timeout and the SDK's default retries.
    const tables = createTableProvider({ connectionString: azuriteTablesConnectionString(hole.port) });
    const failures: unknown[] = [];
    const breaker = new SharedCircuitBreaker(tables, SETTINGS, { storeFailed: (_k, error) => failures.push(error) });
    const k = breakerKey();

    const admitted = await within(3_000, breaker.admit(k));
    expect(admitted.value).toEqual({ key: k });
    expect(admitted.elapsed).toBeGreaterThanOrEqual(SETTINGS.storeBudgetMs - 20);
    expect(admitted.elapsed).toBeLessThan(SETTINGS.storeBudgetMs + 700);

    const recorded = await within(3_000, breaker.record({ key: k }, { counted: true, code: 'DSWBHK010' }));
    expect(recorded.value).toBeUndefined();
    expect(recorded.elapsed).toBeLessThan(SETTINGS.storeBudgetMs + 700);

    expect(hole.connections()).toBeGreaterThan(0); // the store was really asked, and never answered
    expect(failures).toHaveLength(2);
    for (const error of failures) expect(error).toBeInstanceOf(TaskCancelledError);
  });

  it('a read that hangs once the table exists is aborted, not left running', async () => {
    const real = await direct.table(TABLES.webhookBreakers);
    const k = breakerKey();
    await seed(k, probeDue());
    // Every read of the row hangs until the test releases it (a request the store never answers).
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const aborted: boolean[] = [];
    const tables: TableProvider = {
      table: async () =>
        new Proxy(real, {
          get(target, property, receiver) {
            if (property !== 'getEntity') return Reflect.get(target, property, receiver);
            return (_pk: string, _rk: string, options?: { abortSignal?: AbortSignal }) =>
              new Promise((_resolve, reject) => {
                options?.abortSignal?.addEventListener('abort', () => {
                  aborted.push(true);
                  reject(Object.assign(new Error('The operation was aborted.'), { name: 'AbortError' }));
                });
                void held.then(() => reject(new Error('released')));
              });
          },
        }) as TableClient,
    };
    const failures: unknown[] = [];
    const breaker = new SharedCircuitBreaker(tables, SETTINGS, { storeFailed: (_k, error) => failures.push(error) });
    const admitted = await within(3_000, breaker.admit(k));
    release();
    expect(admitted.value).toEqual({ key: k });
    expect(aborted).toEqual([true]);
    expect(failures).toHaveLength(1); // the expiry, not also the abort it caused
  });
});
