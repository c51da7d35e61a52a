import type { Bench, BenchRow } from './types';

// Each module exports `bench: Bench`; they run one after another so no two compete for the machine.
const BENCHES: Record<string, () => Promise<{ bench: Bench }>> = {
  // registered by each benchmark module as it is written, e.g.
  // sweep: () => import('./sweep.js'),   (node16 resolution: a dynamic import needs the .js extension)
  syncOverhead: () => import('./syncOverhead.js'),
  tokens: () => import('./tokens.js'),
  mailboxConcurrency: () => import('./mailboxConcurrency.js'),
  coldStart: () => import('./coldStart.js'),
  sweep: () => import('./sweep.js'),
};

/** A benchmark that threw (or could not be loaded): one row in the table instead of its figures. */
interface ErrorRow {
  name: string;
  error: string;
}
type Row = BenchRow | ErrorRow;

/** A row without a goal of its own (context for the row above it): neither met nor missed. */
const INFORMATIONAL = '—';

function cells(r: Row): string[] {
  if ('error' in r) return [r.name, 'error', INFORMATIONAL, 'NO', r.error];
  const met = r.goal === INFORMATIONAL ? INFORMATIONAL : r.met ? 'yes' : 'NO';
  return [r.name, String(Number(r.value.toFixed(3))), r.goal, met, r.detail];
}

function table(rows: Row[]): string {
  const header = ['benchmark', 'value', 'goal', 'met', 'figures'];
  const lines = rows.map(cells);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cs: string[]) => `| ${cs.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...lines.map(fmt)].join('\n');
}

/** One line for a table cell: the error's class and message, whitespace collapsed. */
function oneLine(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.replace(/\s+/g, ' ').trim();
}

async function runOne(name: string): Promise<Row[]> {
  const load = BENCHES[name];
  if (!load) return [{ name, error: `unknown benchmark (names: ${Object.keys(BENCHES).join(', ')})` }];
  try {
    const { bench } = await load();
    return await bench();
  } catch (error) {
    // the stack goes to stderr; the table keeps one line, and the other benchmarks still run
    process.stderr.write(`bench ${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return [{ name, error: oneLine(error) }];
  }
}

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const names = only.length === 0 ? Object.keys(BENCHES) : only;
  const rows: Row[] = [];
  for (const name of names) {
    process.stderr.write(`bench ${name} …\n`);
    rows.push(...(await runOne(name)));
  }
  process.stdout.write(`${table(rows)}\n`);
  // 2: a benchmark threw (its figures are missing); 1: a goal was missed; 0: every goal met
  process.exitCode = rows.some((r) => 'error' in r) ? 2 : rows.every((r) => 'error' in r || r.met) ? 0 : 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 2;
});
