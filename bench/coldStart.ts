import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Bench } from './types';
import { alternate, fmt, median } from './support/measure';

/**
 * Cold start: a fresh `node` process loading the app's entry (every functions/*.js, as package.json
 * `main` names them, with dev/functionsHost's fake @azure/functions-core in place so the
 * registrations run as in the host) ÷ a fresh `node` process loading @azure/functions alone (with
 * the same fake core). Each child reports performance.now() once loaded — the time since its own
 * start, Node's bootstrap included, as a worker's cold start is — and how long the requires took.
 *
 * The app is compiled from the current sources into a private folder (not dist/, which tests and
 * `npm start` share), so the figure is the code as it is now.
 */
const ROOT = resolve(__dirname, '..');
const OUT = join(ROOT, 'node_modules', '.cache', 'bench-cold-start');
const WARMUP = 2;
const ROUNDS = Number(process.env['BENCH_COLD_ROUNDS'] ?? 15);
const GOAL = 3;
const run = promisify(execFile);

interface ChildTiming {
  /** performance.now() when loaded: ms since the child's time origin (process start) */
  sinceStart: number;
  /** the requires alone */
  load: number;
  functions: number;
  modules: string[];
}

const child = (entry: 'app' | 'functions', files: string[]) => `
const { performance } = require('node:perf_hooks');
const t0 = performance.now();
const { installFakeCore } = require(${JSON.stringify(join(OUT, 'dev', 'functionsHost', 'fakeCore.js'))});
const core = installFakeCore();
${entry === 'app' ? `for (const f of ${JSON.stringify(files)}) require(f);` : `require(require.resolve('@azure/functions', { paths: [${JSON.stringify(ROOT)}] }));`}
const t1 = performance.now();
const modules = [...new Set(Object.keys(require.cache).map((p) => (/node_modules[\\\\/]((@[^\\\\/]+[\\\\/])?[^\\\\/]+)/.exec(p) || [])[1]).filter(Boolean))];
process.stdout.write(JSON.stringify({ sinceStart: t1, load: t1 - t0, functions: core.functions.size, modules }));
`;

async function spawnTimed(script: string): Promise<ChildTiming> {
  const env = { ...process.env };
  delete env['NODE_OPTIONS']; // no tsx loader in the child: plain node, as the Functions worker
  const { stdout } = await run(process.execPath, ['-e', script], { cwd: ROOT, env, maxBuffer: 1 << 20 });
  return JSON.parse(stdout) as ChildTiming;
}

export const bench: Bench = async () => {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  await run(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', OUT, '--sourceMap', 'false'], { cwd: ROOT });
  try {
    const functionsDir = join(OUT, 'functions');
    const files = readdirSync(functionsDir).filter((f) => f.endsWith('.js')).sort().map((f) => join(functionsDir, f));
    const app: ChildTiming[] = [];
    const fn: ChildTiming[] = [];
    const appScript = child('app', files);
    const fnScript = child('functions', files);
    await alternate(
      [async () => app.push(await spawnTimed(appScript)), async () => fn.push(await spawnTimed(fnScript))],
      { warmup: 0, rounds: WARMUP + ROUNDS },
    );
    const keptApp = app.slice(WARMUP);
    const keptFn = fn.slice(WARMUP);
    const appStart = median(keptApp.map((t) => t.sinceStart));
    const fnStart = median(keptFn.map((t) => t.sinceStart));
    const appLoad = median(keptApp.map((t) => t.load));
    const fnLoad = median(keptFn.map((t) => t.load));
    const ratio = appStart / fnStart;
    const registered = keptApp[0]?.functions ?? 0;
    const packages = (keptApp[0]?.modules ?? []).filter((m) => !(keptFn[0]?.modules ?? []).includes(m)).sort();
    return [
      {
        name: 'cold start: app entry ÷ @azure/functions alone',
        value: ratio,
        goal: `≤ ${GOAL}`,
        met: ratio <= GOAL && registered >= files.length,
        detail:
          `median ${fmt(appStart)} ms vs ${fmt(fnStart)} ms from process start to loaded (requires alone ${fmt(appLoad)} vs ${fmt(fnLoad)} ms, ×${(appLoad / fnLoad).toFixed(1)}); ` +
          `${ROUNDS} fresh node processes each, alternating, after ${WARMUP} warm-up; ${registered} functions registered from ${files.length} files; ` +
          `packages loaded beyond @azure/functions: ${packages.join(', ') || 'none'}`,
      },
    ];
  } finally {
    rmSync(OUT, { recursive: true, force: true });
  }
};
