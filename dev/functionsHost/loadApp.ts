import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { installFakeCore, type FakeCore, type HostLog } from './fakeCore';

/** The folder holding package.json, from source (dev/functionsHost) or from dist/dev/functionsHost. */
export function repoRoot(start = __dirname): string {
  let dir = start;
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'host.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`No package.json with host.json above ${start}`);
    dir = parent;
  }
  return dir;
}

/** Expands package.json `main` the way the Functions host does (one `*` in the file name part). */
export function entryFiles(root: string, main: string): string[] {
  if (!main.includes('*')) return [join(root, main)];
  const dir = join(root, dirname(main));
  const pattern = new RegExp(`^${basename(main).split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  if (!existsSync(dir)) throw new Error(`The app entry folder ${relative(root, dir)} does not exist: run \`npm run build\` first.`);
  return readdirSync(dir)
    .filter((name) => pattern.test(name))
    .sort()
    .map((name) => join(dir, name));
}

export interface LoadedApp extends FakeCore {
  files: string[];
}

/**
 * Loads the app as the Functions host does: requires every file `main` names with the host's
 * `@azure/functions-core` in place. `fromSource` swaps dist/*.js for the TypeScript sources (tsx/vitest).
 */
export function loadApp(options: { root?: string; fromSource?: boolean; log?: HostLog } = {}): LoadedApp {
  const root = options.root ?? repoRoot();
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { main: string };
  const main = options.fromSource ? pkg.main.replace(/^dist\//, '').replace(/\.js$/, '.ts') : pkg.main;
  const core = installFakeCore(options.log);
  const files = entryFiles(root, main);
  for (const file of files) require(file);
  return { ...core, files };
}
