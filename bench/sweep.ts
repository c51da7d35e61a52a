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
 * Azurite: entities one pass reads, counted from the HTTP responses, against the entities due; and
 * its time beside a naive full-table filter over Transactions, in the same process on the same data.
 * Replays go through the real ServiceBusSender to the dev broker (dev/serviceBus), so the pass's time
 * includes claiming each row under its ETag and sending it.
 */
const QUEUE = 'appointments';
const PROTECTION_KEY = Buffer.alloc(32, 9).toString('base64');

const n = (value: number): string => value.toLocaleString('en-US');
const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

export const bench: Bench = async () => {
  const rows = Number(process.env.BENCH_SWEEP_ROWS ?? 100_000);
  if (!Number.isInteger(rows) || rows < 100) throw new Error('BENCH_SWEEP_ROWS must be a whole number ≥ 100');
  const azurite = await startAzuriteTables({ inMemory: true });
  const broker = await startServiceBusBroker({ queues: [{ name: QUEUE }] });
  const counter = new EntityCounter();
  const tables = createTableProvider({ connectionString: azurite.connectionString, additionalPolicies: [{ position: 'perCall', policy: counter.policy }] });
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
    const pass = await counter.measure(() => runRetrySweep(deps, log));
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
    const rowsOut: BenchRow[] = [
      {
        name: 'retry sweep: entities read to find due rows ÷ entities due',
        value: ratio,
        goal: '≤ 1.1',
        met: ratio <= 1.1,
        detail:
          `${n(found)} read / ${n(due)} due of ${n(rows)} rows [${describeReads(pass.reads)}; all reads ${n(total)} = ${(total / due).toFixed(2)} per due row]; ` +
          `naive full-table filter: ${n(naiveRead)} Transactions rows read = ${(naiveRead / due).toFixed(1)} per due row`,
      },
      {
        name: 'retry sweep: time to find due rows ÷ naive full-table filter',
        value: find.ms / naive.ms,
        goal: '< 1',
        met: find.ms < naive.ms,
        detail:
          `find ${s(find.ms)} (${n(find.result)} entries); one whole pass ${s(pass.ms)} (${n(summary.enqueued)} claimed under ETag and sent to the dev broker); ` +
          `naive filter ${s(naive.ms)} over ${n(rows)} rows`,
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
