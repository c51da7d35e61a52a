import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

describe('Service Bus test broker shutdown', () => {
  it('leaves nothing running: a process that closed client and broker exits by itself', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', resolve(__dirname, 'fixtures/exitAfterClose.ts')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const code = await new Promise<number | null>((done) => child.on('exit', (c) => done(c)));
    const exitedAt = Date.now();
    clearTimeout(killer);

    expect(stderr).toBe('');
    expect(code).toBe(0);
    const closedAt = Number(/closed (\d+)/.exec(stdout)?.[1]);
    expect(exitedAt - closedAt).toBeLessThan(2_000);
  });
});
