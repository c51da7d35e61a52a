import { readFileSync } from 'node:fs';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { startAzuriteTables } from '../dev/azurite';
import { startServiceBusBroker } from '../dev/serviceBus/broker';
import { buildDependencies } from '../shared/app/dependencies';
import { readSettings } from '../shared/config/settings';
import type { Log } from '../shared/pipeline/report';
import { candidateSources } from '../shared/retry/candidates';
import { runRetrySweep } from '../shared/retry/sweep';
import { createTableProvider } from '../shared/storage/tableClients';
import { noTelemetry } from '../shared/telemetry/telemetry';
import { describeReads, EntityCounter, entitiesRead } from '../test/support/entityCounter';
import { naiveDueScan } from './retrySweep/naiveScan';
import { planRows, seedConnectors, seedRows } from './retrySweep/seed';
import type { Bench, BenchRow } from './types';

/**
 * The retry sweep over a large Transactions table (BENCH_SWEEP_ROWS, default 100,000; 1 % due) in
 * Azurite: entities one pass reads, counted from the HTTP responses, against the entities due — those
 * read to find the due rows (the goal), and all of them (each due row then costs a point read of the
 * row and of its appointment version); and the time of one whole pass beside a naive full-table filter
 * over Transactions, in the same process on the same data. Replays go through the real
 * ServiceBusSender to the dev broker (dev/serviceBus), so the pass's time includes claiming each row
 * under its ETag and sending it; the naive filter only finds rows. The storage requests per due row
 * and the CPU Azurite used show what bounds the pass's time here.
 */
const QUEUE = 'appointments';
const PROTECTION_KEY = Buffer.alloc(32, 9).toString('base64');

const n = (value: number): string => value.toLocaleString('en-US');
const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
/** a row without a goal of its own: the runner prints it as neither met nor missed */
const INFORMATIONAL = '—';

/** Every storage request while counting, reads and writes, by method (EntityCounter sees only reads). */
class RequestCounter {
  counting = false;
  readonly byMethod = new Map<string, number>();
  readonly policy: PipelinePolicy = {
    name: 'benchRequestCounter',
    sendRequest: async (request, next) => {
      if (this.counting) this.byMethod.set(request.method, (this.byMethod.get(request.method) ?? 0) + 1);
      return next(request);
    },
  };
  total(): number {
    return [...this.byMethod.values()].reduce((a, b) => a + b, 0);
  }
}

/**
 * CPU time (ms) the Azurite process and its children have used, from /proc (Linux, USER_HZ 100);
 * undefined elsewhere. It shows what bounds the pass here: the emulator's work per request.
 */
function processTreeCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const cpu = (p: number): number => {
      const fields = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ');
      const own = (Number(fields[11]) + Number(fields[12])) * 10;
      const children = readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
      return own + children.reduce((sum, c) => sum + cpu(c), 0);
    };
    return cpu(pid);
  } catch {
    return undefined;
  }
}

export const bench: Bench = async () => {
  const rows = Number(process.env.BENCH_SWEEP_ROWS ?? 100_000);
  if (!Number.isInteger(rows) || rows < 100) throw new Error('BENCH_SWEEP_ROWS must be a whole number ≥ 100');
  const azurite = await startAzuriteTables({ inMemory: true });
  const broker = await startServiceBusBroker({ queues: [{ name: QUEUE }] });
  const counter = new EntityCounter();
  const requests = new RequestCounter();
  const tables = createTableProvider({
    connectionString: azurite.connectionString,
    additionalPolicies: [
      { position: 'perCall', policy: counter.policy },
      { position: 'perCall', policy: requests.policy },
    ],
  });
  const settings = readSettings({
    TablesConnection: azurite.connectionString,
    ServiceBusConnection: broker.connectionString,
    APPOINTMENTS_QUEUE: QUEUE,
    SECRET_PROTECTION_KEY: PROTECTION_KEY,
    // Large enough that neither bound cuts the measured pass short.
    RETRY_SWEEP_MAX_ROWS: String(rows),
    RETRY_SWEEP_MAX_SECONDS: '3600',
  });
  const deps = buildDependencies(settings, { tables, telemetry: noTelemetry });
  try {
    const seedStarted = performance.now();
    const plan = planRows(rows, new Date());
    await seedConnectors(deps.connectors);
    const seeded = await seedRows(tables, plan.records);
    process.stderr.write(
      `  seeded ${n(seeded.transactions)} rows, ${n(seeded.indexEntries)} index entries, ${n(seeded.versions)} appointment versions in ${s(performance.now() - seedStarted)}\n`,
    );

    const naive = await counter.measure(() => naiveDueScan(deps.transactions, deps.connectors, new Date()));
    const find = await counter.measure(async () => {
      const sources = await candidateSources(deps.retryIndex, deps.connectors, new Date());
      let entries = 0;
      for await (const _ of sources.candidates) entries += 1;
      return entries;
    });
    const lines: string[] = [];
    const log: Log = { info: (...a) => lines.push(a.join(' ')), warn: (...a) => lines.push(a.join(' ')), error: (...a) => lines.push(a.join(' ')) };
    const azuriteCpuBefore = processTreeCpuMs(azurite.pid);
    const cpuBefore = process.cpuUsage();
    requests.counting = true;
    const pass = await counter.measure(() => runRetrySweep(deps, log)).finally(() => (requests.counting = false));
    const ownCpu = process.cpuUsage(cpuBefore);
    const azuriteCpuAfter = processTreeCpuMs(azurite.pid);
    const summary = pass.result;
    process.stderr.write(`  ${lines.find((l) => l.startsWith('Retry sweep:')) ?? lines.join('\n  ')}\n`);

    const sent = broker.stats(QUEUE).sent;
    const due = summary.due;
    if (due !== plan.due || summary.enqueued !== plan.due || sent !== plan.due || naive.result.due !== plan.due) {
      throw new Error(`sweep bench: ${n(plan.due)} rows seeded due, but the pass found ${due}, enqueued ${summary.enqueued}, the broker got ${sent}, the naive scan found ${naive.result.due}`);
    }
    // Finding the due rows is what the index is for: every query the pass ran (index, connectors, sweep
    // state). The point reads that follow are the due rows themselves and their appointment versions.
    const found = entitiesRead(pass.reads, { kind: 'query' });
    const total = entitiesRead(pass.reads);
    const naiveRead = entitiesRead(naive.reads, { table: 'Transactions' });
    const ratio = found / due;
    const perRow = (count: number): string => (count / due).toFixed(2);
    const writes = requests.total() - (requests.byMethod.get('GET') ?? 0);
    const azuriteCpu = azuriteCpuBefore !== undefined && azuriteCpuAfter !== undefined ? azuriteCpuAfter - azuriteCpuBefore : undefined;
    const rowsOut: BenchRow[] = [
      {
        name: 'retry sweep: entities read to find the due rows ÷ due',
        value: ratio,
        goal: '≤ 1.1',
        met: ratio <= 1.1,
        detail:
          `${n(found)} read by queries (RetryIndex, Connectors, sweep state) / ${n(due)} due of ${n(rows)} rows; ` +
          `naive full-table filter: ${n(naiveRead)} Transactions rows read = ${(naiveRead / due).toFixed(1)} per due row`,
      },
      {
        name: 'retry sweep: all entities read in one pass ÷ due',
        value: total / due,
        goal: INFORMATIONAL,
        met: true,
        detail: `${n(total)} read / ${n(due)} due: the entries that find them, then a point read of each due row and of its appointment's latest version [${describeReads(pass.reads)}]`,
      },
      {
        name: 'retry sweep: time of one whole pass (s)',
        value: pass.ms / 1000,
        goal: INFORMATIONAL,
        met: true,
        detail:
          `one whole pass ${s(pass.ms)} = ${(pass.ms / due).toFixed(1)} ms per due row (find, read, claim under ETag, send ${n(summary.enqueued)} to the dev broker); ` +
          `naive full-table filter ${s(naive.ms)} over ${n(rows)} rows (it only finds the rows: no claims, no sends); finding through the index ${s(find.ms)}; ` +
          `${n(requests.total())} storage requests = ${perRow(requests.total())} per due row (${perRow(requests.byMethod.get('GET') ?? 0)} reads, ${perRow(writes)} writes); ` +
          `CPU during the pass: Azurite ${azuriteCpu === undefined ? 'n/a' : s(azuriteCpu)}, the sweep's process ${s((ownCpu.user + ownCpu.system) / 1000)}`,
      },
    ];
    return rowsOut;
  } finally {
    await deps.replayPublisher.close();
    await deps.serviceBus().close();
    await broker.close();
    await azurite.close();
  }
};
