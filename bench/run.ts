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

function table(rows: BenchRow[]): string {
  const header = ['benchmark', 'value', 'goal', 'met', 'figures'];
  const lines = rows.map((r) => [r.name, String(Number(r.value.toFixed(3))), r.goal, r.met ? 'yes' : 'NO', r.detail]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...lines.map(fmt)].join('\n');
}

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const names = Object.keys(BENCHES).filter((n) => only.length === 0 || only.includes(n));
  const rows: BenchRow[] = [];
  for (const name of names) {
    process.stderr.write(`bench ${name} …\n`);
    const { bench } = await BENCHES[name]!();
    rows.push(...(await bench()));
  }
  process.stdout.write(`${table(rows)}\n`);
  process.exitCode = rows.every((r) => r.met) ? 0 : 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 2;
});
