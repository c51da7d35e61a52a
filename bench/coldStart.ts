import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { entryFiles } from '../dev/functionsHost/loadApp';
import type { Bench } from './types';
import { alternate, fmt, median } from './support/measure';

/**
 * Cold start, as the issue defines it: the time to load the app's entry ÷ the time to load
 * @azure/functions alone. The app's entry is every file package.json `main` names (what the
 * Functions host requires), loaded with dev/functionsHost's fake @azure/functions-core in place so
 * the registrations run as in the host. Each side runs in its own fresh `node` process (no tsx
 * loader), alternating, and the medians are compared.
 *
 * - headline: the requires alone, timed in the child from after the fake core is installed to the
 *   last entry file loaded;
 * - secondary: the same children's performance.now() once loaded, i.e. from process start, Node's own
 *   bootstrap included on both sides (which dilutes the ratio towards 1).
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
  /** the requires alone (after the fake core is installed) */
  load: number;
  functions: number;
  modules: string[];
}

const child = (entry: 'app' | 'functions', files: string[]) => `
const { performance } = require('node:perf_hooks');
const { installFakeCore } = require(${JSON.stringify(join(OUT, 'dev', 'functionsHost', 'fakeCore.js'))});
const core = installFakeCore();
const t0 = performance.now();
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
    // package.json `main` (dist/functions/*.js) expanded as the host does, in the private build
    const { main } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { main: string };
    const files = entryFiles(OUT, main.replace(/^dist\//, ''));
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
    const loadRatio = appLoad / fnLoad;
    const startRatio = appStart / fnStart;
    const registered = keptApp[0]?.functions ?? 0;
    const packages = (keptApp[0]?.modules ?? []).filter((m) => !(keptFn[0]?.modules ?? []).includes(m)).sort();
    const runs = `${ROUNDS} fresh node processes each, alternating, after ${WARMUP} warm-up`;
    return [
      {
        name: 'cold start: loading the app entry ÷ loading @azure/functions alone',
        value: loadRatio,
        goal: `≤ ${GOAL}`,
        met: loadRatio <= GOAL && registered >= files.length,
        detail:
          `median ${fmt(appLoad)} ms to require the ${files.length} files of package.json main vs ${fmt(fnLoad)} ms to require @azure/functions; ` +
          `${runs}; ${registered} functions registered at load; packages loaded beyond @azure/functions: ${packages.join(', ') || 'none'}`,
      },
      {
        name: 'cold start, from process start: app entry ÷ @azure/functions alone',
        value: startRatio,
        goal: '—',
        met: true,
        detail: `median ${fmt(appStart)} ms vs ${fmt(fnStart)} ms from process start to loaded (Node's bootstrap counted on both sides); same ${ROUNDS} processes each`,
      },
    ];
  } finally {
    rmSync(OUT, { recursive: true, force: true });
  }
};
