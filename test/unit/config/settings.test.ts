import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSettings, SETTINGS } from '../../../shared/config/settings';

const root = resolve(__dirname, '../../..');
// Settings the Functions host itself reads; the app code never does.
const HOST_SETTINGS = ['FUNCTIONS_WORKER_RUNTIME', 'AzureWebJobsStorage'];

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('app settings', () => {
  it('local.settings.sample.json lists every setting the code reads, and nothing else', () => {
    const sample = JSON.parse(readFileSync(join(root, 'local.settings.sample.json'), 'utf8')) as { Values: Record<string, string> };
    const names = SETTINGS.map((s) => s.name);
    expect(Object.keys(sample.Values).filter((k) => !HOST_SETTINGS.includes(k)).sort()).toEqual([...names].sort());
    for (const value of Object.values(sample.Values)) expect(typeof value).toBe('string');
  });

  it('product code reads process.env only through shared/config', () => {
    const offenders = ['shared', 'functions']
      .flatMap((dir) => files(join(root, dir)))
      .filter((file) => !file.includes(join('shared', 'config')))
      .filter((file) => /process\.env\b/.test(readFileSync(file, 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('applies defaults and validates every value with a clear message', () => {
    const settings = readSettings({});
    expect(settings.APPOINTMENTS_QUEUE).toBe('appointments');
    expect(settings.GRAPH_MAX_CONCURRENCY_PER_MAILBOX).toBe(4);
    expect(() => readSettings({ GRAPH_BASE_URL: 'http://graph.example', GRAPH_REQUEST_TIMEOUT_MS: '-5' })).toThrow(
      /GRAPH_BASE_URL: GRAPH_BASE_URL must be an https:\/\/ URL; GRAPH_REQUEST_TIMEOUT_MS: .*greater than 0/,
    );
  });
});
