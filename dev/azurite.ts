import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Azurite's TABLE service on loopback, for tests and the local dev host.
 *
 * Azurite runs as a CHILD PROCESS (its own `azurite-table` entry point), not in-process:
 *  - `require('azurite')` fails (it needs `vscode`), and loading its table server files in-process
 *    drags in applicationinsights 2.9 + diagnostic-channel, which replaces Module.prototype.require
 *    and sets global.diagnosticsSource for the whole process: the process that hosts the product's
 *    own applicationinsights 3.x must not carry that.
 *  - a child starts as fast (~0.3-0.4 s to "listening", vs ~0.43 s just to require the files
 *    in-process) and dies with its parent: it is killed on the parent's `exit`, and a tiny wrapper
 *    exits the child when its IPC channel drops (parent SIGKILLed, crashed, or ended by a signal,
 *    when no `exit` handler runs).
 *
 * Clients must pass `allowInsecureConnection: true` (the endpoint is plain http):
 *   TableClient.fromConnectionString(azurite.connectionString, 'T', { allowInsecureConnection: true })
 */
export interface AzuriteTables {
  readonly port: number;
  /** Well-known devstoreaccount1 key + explicit TableEndpoint=http://127.0.0.1:<port>/devstoreaccount1 */
  readonly connectionString: string;
  /** http://127.0.0.1:<port>/devstoreaccount1 */
  readonly tableEndpoint: string;
  /** Workspace folder (undefined with inMemory). */
  readonly location?: string;
  /** Pid of the Azurite child process. */
  readonly pid?: number;
  /** Stops Azurite (gracefully, so an on-disk workspace is saved; SIGKILL after 3 s), removes a temp workspace. Idempotent. */
  close(): Promise<void>;
}

export interface AzuriteTablesOptions {
  /** 0 (default) = a free port. */
  port?: number;
  /** Workspace folder. Default: a fresh temp dir, removed on close. Not allowed with inMemory. */
  location?: string;
  /** Keep everything in memory (Azurite's --inMemoryPersistence). Default false. */
  inMemory?: boolean;
  /** Give up starting after this many ms (default 15000). */
  startTimeoutMs?: number;
}

export const AZURITE_ACCOUNT_NAME = 'devstoreaccount1';
/** Azurite's published, well-known development key (not a secret). */
export const AZURITE_ACCOUNT_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export function azuriteTablesConnectionString(port: number, host = '127.0.0.1'): string {
  return (
    `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT_NAME};AccountKey=${AZURITE_ACCOUNT_KEY};` +
    `TableEndpoint=http://${host}:${port}/${AZURITE_ACCOUNT_NAME};`
  );
}

// Runs in the child: when the parent goes away (the IPC channel closes) remove the child's cwd (always
// a temp dir of ours, possibly also the workspace) and exit; then run Azurite's own table entry point
// with argv shaped as if it had been started directly.
const WRAPPER = [
  "process.on('disconnect', () => {",
  "  try { require('node:fs').rmSync(process.cwd(), { recursive: true, force: true }); } catch {}",
  '  process.exit(0);',
  '});',
  'require(process.argv[1]);',
].join('\n');

const READY = /Azurite Table service successfully started/;
const CLOSED = /Azurite Table service successfully closed/;
const FAILED = /Exiting due to an unhandled error: (.*)/;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

class StartError extends Error {
  constructor(
    message: string,
    readonly addressInUse: boolean,
  ) {
    super(message);
    this.name = 'AzuriteStartError';
  }
}

interface Started {
  child: ChildProcess;
  output: () => string;
}

function launch(port: number, location: string | undefined, cwd: string, timeoutMs: number): Promise<Started> {
  const mainJs = require.resolve('azurite/dist/src/table/main.js');
  const args = [
    '--tableHost', '127.0.0.1',
    '--tablePort', String(port),
    '--skipApiVersionCheck',
    '--loose',
    '--silent',
    '--disableTelemetry',
    ...(location === undefined ? ['--inMemoryPersistence'] : ['--location', location]),
  ];
  // Don't hand vitest/tsx loaders (NODE_OPTIONS) to a plain JS child.
  const env = { ...process.env };
  delete env['NODE_OPTIONS'];
  const child = spawn(process.execPath, ['-e', WRAPPER, '--', mainJs, ...args], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    windowsHide: true,
  });
  let out = '';
  const keep = (chunk: Buffer): void => {
    out = (out + chunk.toString('utf8')).slice(-8192);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);

  return new Promise<Started>((resolve, reject) => {
    const timer = setTimeout(() => fail(`Azurite did not start within ${timeoutMs} ms`), timeoutMs);
    const onData = (): void => {
      if (READY.test(out)) {
        cleanup();
        resolve({ child, output: () => out });
        return;
      }
      const failed = FAILED.exec(out);
      if (failed) fail(`Azurite failed to start: ${failed[1]}`);
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void =>
      fail(`Azurite exited while starting (code ${code}, signal ${signal}): ${out.trim()}`);
    const onError = (error: Error): void => fail(`Azurite could not be spawned: ${error.message}`);
    function cleanup(): void {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.stderr!.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
    }
    function fail(message: string): void {
      cleanup();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      reject(new StartError(message, /EADDRINUSE/.test(message) || /EADDRINUSE/.test(out)));
    }
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

/** Starts Azurite's table service on 127.0.0.1 (see AzuriteTables). */
export async function startAzuriteTables(options: AzuriteTablesOptions = {}): Promise<AzuriteTables> {
  const inMemory = options.inMemory ?? false;
  if (inMemory && options.location !== undefined) {
    throw new Error('startAzuriteTables: inMemory and location are exclusive (Azurite refuses --inMemoryPersistence with --location).');
  }
  // Also the child's cwd, so nothing Azurite writes by default lands in the repo.
  const ownDir = mkdtempSync(join(tmpdir(), 'azurite-tables-'));
  const location = inMemory ? undefined : (options.location ?? ownDir);
  const timeoutMs = options.startTimeoutMs ?? 15_000;

  let started: Started | undefined;
  let port = 0;
  // A free port found here may be taken by someone else before the child binds it: retry then.
  for (let attempt = 1; started === undefined; attempt++) {
    port = options.port !== undefined && options.port !== 0 ? options.port : await freePort();
    try {
      started = await launch(port, location, ownDir, timeoutMs);
    } catch (error) {
      const retry = error instanceof StartError && error.addressInUse && !options.port && attempt < 5;
      if (!retry) {
        rmSync(ownDir, { recursive: true, force: true });
        throw error;
      }
    }
  }

  const { child, output } = started;
  const killOnExit = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    try {
      rmSync(ownDir, { recursive: true, force: true });
    } catch {
      // best effort while the process exits
    }
  };
  process.on('exit', killOnExit);
  // Don't keep the parent alive for Azurite's sake: the parent's exit kills it anyway.
  child.unref();
  (child.stdout as unknown as { unref?: () => void }).unref?.();
  (child.stderr as unknown as { unref?: () => void }).unref?.();
  (child.channel as unknown as { unref?: () => void } | undefined)?.unref?.();

  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });

  let closing: Promise<void> | undefined;
  const tableEndpoint = `http://127.0.0.1:${port}/${AZURITE_ACCOUNT_NAME}`;
  return {
    port,
    connectionString: azuriteTablesConnectionString(port),
    tableEndpoint,
    ...(location !== undefined ? { location } : {}),
    ...(child.pid !== undefined ? { pid: child.pid } : {}),
    close() {
      closing ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          // Azurite's own graceful shutdown (saves the Loki db), then drop IPC so the wrapper exits.
          const onData = (): void => {
            if (CLOSED.test(output()) && child.connected) child.disconnect();
          };
          child.stdout?.on('data', onData);
          try {
            if (child.connected) child.send('shutdown');
            else child.kill('SIGKILL');
          } catch {
            child.kill('SIGKILL');
          }
          const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
          await exited;
          clearTimeout(timer);
          child.stdout?.off('data', onData);
        }
        process.off('exit', killOnExit);
        // ownDir is the default workspace, or only the child's cwd; a caller's location is kept.
        rmSync(ownDir, { recursive: true, force: true });
      })();
      return closing;
    },
  };
}
