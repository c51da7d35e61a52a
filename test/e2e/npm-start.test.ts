import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectedOutcomes, scenariosOf } from '../../dev/demo/scenarios';
import { findEntry } from '../../shared/diagnostics/catalogue';

/**
 * `npm start` end to end: `node dist/dev/start.js` (what `npm start` runs after its build; `npm test`
 * builds first) as a child process with the short demo batch, nothing pointing at Azure. Every code
 * the batch provokes is read back through the HTTP API with the function key, and Ctrl-C (SIGINT)
 * must leave no process behind: the child, Azurite and anything else it started, checked by pid.
 */
const root = resolve(__dirname, '../..');
const START = resolve(root, 'dist/dev/start.js');
const KEY = 'e2e-function-key';
const SHORT = scenariosOf('short');
// The short batch has no breaker story, so the threshold does not matter here.
const EXPECTED = expectedOutcomes(SHORT, { breakerThreshold: 5 });

let child: ChildProcess;
let output = '';
let baseUrl: string;
let descendants: number[] = [];
let exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

/** Child processes of `pid`, recursively, from /proc (Linux). */
function descendantsOf(pid: number): number[] {
  if (!existsSync('/proc')) return [];
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return children.flatMap((c) => [c, ...descendantsOf(c)]);
}

/** Alive and not a zombie waiting to be reaped. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return existsSync('/proc') ? false : true;
  }
}

async function until(what: string, probe: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function api(path: string, key = KEY): Promise<{ status: number; body: any }> {
  const response = await fetch(`${baseUrl}${path}`, { headers: { 'x-functions-key': key } });
  const text = await response.text();
  const json = (response.headers.get('content-type') ?? '').includes('json');
  return { status: response.status, body: json && text ? JSON.parse(text) : text };
}

beforeAll(async () => {
  if (!existsSync(START)) throw new Error(`${START} is missing: run \`npm run build\` first (npm test does).`);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DEMO_BATCH: 'short',
    LOCAL_HOST_PORT: '0',
    LOCAL_FUNCTION_KEY: KEY,
    // Nothing may point at a real endpoint, whatever the developer's environment or local.settings.json says.
    TablesConnection: '',
    TablesConnection__tableServiceUri: '',
    ServiceBusConnection: '',
    ServiceBusConnection__fullyQualifiedNamespace: '',
    ENTRA_AUTHORITY_HOST: '',
    GRAPH_BASE_URL: '',
    APPLICATIONINSIGHTS_CONNECTION_STRING: '',
  };
  delete env.NODE_OPTIONS; // the child is plain node, as under npm start
  // vitest.config.mts sets NODE_EXTRA_CA_CERTS for its workers; `npm start` has no such variable and
  // trusts the simulators' test CA itself (dev/simulators/tls.ts). Start the child without it, so that
  // is the path this test exercises.
  delete env.NODE_EXTRA_CA_CERTS;
  child = spawn(process.execPath, [START], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  exit = new Promise((done) => child.once('exit', (code, signal) => done({ code, signal })));
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  try {
    await until('the demo summary', () => output.includes('Press Ctrl-C to stop.') || child.exitCode !== null, 90_000);
  } catch (error) {
    throw new Error(`${String(error)}\n${output}`);
  }
  if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}:\n${output}`);
  const port = /Host ready: http:\/\/localhost:(\d+)\/api/.exec(output)?.[1];
  expect(port, output).toBeDefined();
  baseUrl = `http://127.0.0.1:${port}`;
  descendants = descendantsOf(child.pid!);
}, 120_000);

afterAll(async () => {
  // Only if a test failed before the shutdown test: never leave the child running.
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    await exit;
  }
  for (const pid of descendants) if (alive(pid)) process.kill(pid, 'SIGKILL');
});

describe('npm start', () => {
  it('prints the summary table, with every story of the batch ending as expected', () => {
    expect(output).toMatch(/^code\s+Status\s+count\s+title$/m);
    expect(output).toContain('Every story ended as expected.');
    expect(output).toMatch(/Demo batch settled: \d+ messages/);
    expect(output).toContain(`Errors page: http://localhost:`);
    expect(output).toContain(`/api/ui?code=${KEY}`);
  });

  it("builds the local queue from infra/appointments-queue.json (the real queue's max delivery count)", () => {
    const { maxDeliveryCount } = JSON.parse(readFileSync(resolve(root, 'infra/appointments-queue.json'), 'utf8')) as { maxDeliveryCount: number };
    expect(output).toContain(`max delivery count ${maxDeliveryCount},`);
  });

  it('runs without NODE_EXTRA_CA_CERTS, as `npm start` does, and still reached the HTTPS simulators', () => {
    if (!existsSync(`/proc/${child.pid}/environ`)) return; // Linux only
    const environ = readFileSync(`/proc/${child.pid}/environ`, 'utf8').split('\0');
    expect(environ.some((v) => v.startsWith('DEMO_BATCH=short'))).toBe(true);
    expect(environ.filter((v) => v.startsWith('NODE_EXTRA_CA_CERTS='))).toEqual([]);
    // the Exchange stories fetch tokens from the HTTPS Entra simulator: rows with Graph outcomes exist
    expect(output).toContain('Every story ended as expected.');
  });

  it('started Azurite as a child process of its own', () => {
    const azurite = Number(/Azurite \(pid (\d+)\)/.exec(output)?.[1]);
    expect(descendants).toContain(azurite);
    expect(alive(azurite)).toBe(true);
  });

  it('serves the HTTP API behind the function key', async () => {
    expect((await api('/api/transactions', 'not-the-key')).status).toBe(401);
    expect((await api('/api/errors/DSEX030')).body).toMatchObject({ code: 'DSEX030' });
  });

  it('records every code of the batch on its rows, with the Status the catalogue gives it', async () => {
    const codes = [...EXPECTED.rows.keys()].filter((k) => k !== 'Succeeded');
    expect(codes.length).toBeGreaterThanOrEqual(8);
    for (const code of codes) {
      const { status, body } = await api(`/api/transactions?errorCode=${code}&pageSize=200`);
      expect(status, code).toBe(200);
      const items = body.items as Array<{ code: string; status: string; message: string }>;
      expect(items.length, `${code} rows`).toBe(EXPECTED.rows.get(code));
      for (const item of items) {
        expect(item.code).toBe(code);
        expect(item.status, code).toBe(findEntry(code)!.status);
        expect(item.message.startsWith(`[${code}] `), item.message).toBe(true);
      }
    }
    const succeeded = await api('/api/transactions?status=Succeeded&pageSize=200');
    expect(succeeded.body.items).toHaveLength(EXPECTED.rows.get('Succeeded') ?? -1);
  });

  it('counts the same codes in the summary API', async () => {
    const { body } = await api('/api/transactions/summary');
    const byCode = new Map((body.byCode as Array<{ code: string; status: string; count: number }>).map((c) => [c.code, c]));
    for (const [code, count] of EXPECTED.rows) {
      if (code === 'Succeeded') continue;
      expect(byCode.get(code), code).toMatchObject({ status: findEntry(code)!.status, count });
    }
  });

  it('reports a storage failure in the log and delivers the message again, which then succeeds', async () => {
    const logged = [...EXPECTED.logged.keys()];
    expect(logged.length).toBeGreaterThan(0);
    for (const code of logged) {
      expect(output).toMatch(new RegExp(`errorCode=${code} status=${findEntry(code)!.status} transactionId=db-${code.toLowerCase()}`));
      expect(output).toMatch(new RegExp(`^${code}\\s+${findEntry(code)!.status}\\s+1\\s`, 'm'));
      const row = await api(`/api/transactions/northwind/db-${code.toLowerCase()}`);
      expect(row.body).toMatchObject({ status: 'Succeeded', attempts: 1 });
      // never a row's outcome: the API has no row with the storage code
      expect((await api(`/api/transactions?errorCode=${code}`)).body.items).toEqual([]);
    }
  });

  it('stops on Ctrl-C (SIGINT) and leaves no process behind', async () => {
    const pids = [child.pid!, ...descendants];
    expect(pids.every(alive)).toBe(true);
    child.kill('SIGINT');
    const { code } = await exit;
    expect(code).toBe(0);
    expect(output).toContain('SIGINT: stopping the host and every local service');
    await until('every process of npm start to end', () => !pids.some(alive), 20_000).catch(() => undefined);
    expect(pids.filter(alive)).toEqual([]);
  });
});
