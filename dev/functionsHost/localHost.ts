import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startHttpHost, type HttpHost } from './httpHost';
import { loadApp, repoRoot, type LoadedApp } from './loadApp';
import { startServiceBusHost, timeSpanMs, type ServiceBusHost, type ServiceBusHostOptions } from './serviceBusHost';
import { startTimerHost, type TimerHost } from './timerHost';

export interface LocalHostOptions {
  port?: number;
  functionKey: string;
  /** load functions/*.ts (under tsx) instead of the built dist/functions/*.js */
  fromSource?: boolean;
  log?: (line: string) => void;
  onSettled?: ServiceBusHostOptions['onSettled'];
}

export interface LocalHost {
  app: LoadedApp;
  http: HttpHost;
  serviceBus: ServiceBusHost;
  timers: TimerHost;
  close(): Promise<void>;
}

interface HostJson {
  extensions?: { serviceBus?: { maxConcurrentCalls?: number; maxAutoLockRenewalDuration?: string }; http?: { routePrefix?: string } };
}

/**
 * Runs the app's registered functions the way the Functions host does: HTTP routes under /api with
 * function keys, Service Bus queues with peek-lock, timers on their schedules. App settings are read
 * from process.env, as in Azure, so the same host runs against loopback simulators or real endpoints.
 */
export async function startLocalHost(options: LocalHostOptions): Promise<LocalHost> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const root = repoRoot();
  const hostJson = JSON.parse(readFileSync(join(root, 'host.json'), 'utf8')) as HostJson;
  const app = loadApp({ root, fromSource: options.fromSource, log: (level, category, message) => log(`[host ${category}] ${level}: ${message}`) });
  const functions = [...app.functions.values()];
  const http = await startHttpHost({ functions, functionKey: options.functionKey, port: options.port, routePrefix: hostJson.extensions?.http?.routePrefix, log });
  const serviceBus = startServiceBusHost({
    functions,
    env: process.env,
    maxConcurrentCalls: hostJson.extensions?.serviceBus?.maxConcurrentCalls ?? 16,
    maxAutoLockRenewalDurationMs: timeSpanMs(hostJson.extensions?.serviceBus?.maxAutoLockRenewalDuration ?? '00:05:00'),
    log,
    onSettled: options.onSettled,
  });
  const timers = startTimerHost({ functions, env: process.env, log });
  return {
    app,
    http,
    serviceBus,
    timers,
    async close() {
      timers.close();
      await serviceBus.close();
      await http.close();
      // As the Functions host does when it stops the worker (the app flushes its telemetry there).
      for (const hook of app.hooks.get('appTerminate') ?? []) {
        await Promise.resolve(hook({ hookData: {} })).catch((error: unknown) => log(`[host] appTerminate hook failed: ${String(error)}`));
      }
      app.uninstall();
    },
  };
}

/** local.settings.json `Values` become environment variables, as `func start` does; the environment wins. */
export function applyLocalSettings(root = repoRoot(), env: NodeJS.ProcessEnv = process.env): string[] {
  let values: Record<string, string> = {};
  try {
    values = (JSON.parse(readFileSync(join(root, 'local.settings.json'), 'utf8')) as { Values?: Record<string, string> }).Values ?? {};
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`local.settings.json cannot be read: ${String(error)}`);
  }
  const applied: string[] = [];
  for (const [name, value] of Object.entries(values)) {
    if (env[name] === undefined) {
      env[name] = value;
      applied.push(name);
    }
  }
  return applied;
}
