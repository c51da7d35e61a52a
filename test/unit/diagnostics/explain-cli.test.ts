import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CATALOGUE } from '../../../shared/diagnostics/catalogue';

const root = resolve(__dirname, '../../..');
const tsx = resolve(root, 'node_modules/.bin/tsx');

function explain(...args: string[]) {
  return spawnSync(tsx, ['scripts/explain.ts', ...args], { cwd: root, encoding: 'utf8', timeout: 20_000 });
}

describe('npm run explain', () => {
  it('prints one code with its Status, retry class, meaning and steps', () => {
    const run = explain('DSEX001');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('DSEX001 — Expired client secret');
    expect(run.stdout).toContain('Status: InvalidBackOfficeSettings');
    expect(run.stdout).toContain('Retry: fix-config');
    expect(run.stdout).toContain('AADSTS7000222');
    expect(run.stdout).toContain('Client secrets expire after 6, 12, or 24 months.');
  });

  it('prints the whole catalogue as a JSON array with code, title, status and retry', () => {
    const run = explain('--json');
    expect(run.status).toBe(0);
    const parsed = JSON.parse(run.stdout) as Array<Record<string, unknown>>;
    expect(parsed.map((e) => e.code)).toEqual(CATALOGUE.map((e) => e.code));
    for (const e of parsed) expect(Object.keys(e)).toEqual(expect.arrayContaining(['code', 'title', 'status', 'retry']));
  });

  it('rejects an unknown code with a clear error and a non-zero exit', () => {
    const run = explain('DSEX999');
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("Unknown code 'DSEX999'");
    expect(run.stdout).toBe('');
  });
});
