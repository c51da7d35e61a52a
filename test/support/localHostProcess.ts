import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

const root = resolve(__dirname, '../..');

export interface HostProcess {
  child: ChildProcess;
  /** e.g. http://127.0.0.1:40123 */
  url: string;
  output: () => string;
  stop(): Promise<void>;
}

/**
 * Starts `dev/host.ts` under tsx as a child process (the app loaded exactly as the Functions host
 * loads it) and resolves once it prints its address. Only this child is ever killed, by its pid.
 */
export async function startHostProcess(env: Record<string, string>, script = 'dev/host.ts', readyPattern = /Host ready: (http:\/\/[^/\s]+)/): Promise<HostProcess> {
  const child = spawn(resolve(root, 'node_modules/.bin/tsx'), [script], {
    cwd: root,
    env: { ...process.env, APPLICATION_INSIGHTS_NO_STATSBEAT: 'true', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`host did not start in time:\n${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = readyPattern.exec(output);
      if (match) {
        clearTimeout(timer);
        resolveUrl(match[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`host exited with ${code}:\n${output}`));
    });
  });
  return {
    child,
    url,
    output: () => output,
    stop: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done();
        const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
        child.once('exit', () => {
          clearTimeout(force);
          done();
        });
        child.kill('SIGTERM');
      }),
  };
}
