import { applyLocalSettings, startLocalHost } from './functionsHost/localHost';

/**
 * `node dist/dev/host.js` (or `tsx dev/host.ts`): the app's functions on http://127.0.0.1:7071/api,
 * against whatever the app settings point at. `npm start` wraps it with simulators and demo data.
 */
async function main(): Promise<void> {
  applyLocalSettings();
  const port = Number(process.env.LOCAL_HOST_PORT ?? 7071);
  const functionKey = process.env.LOCAL_FUNCTION_KEY ?? 'local-dev-key';
  const host = await startLocalHost({ port, functionKey, fromSource: __filename.endsWith('.ts') });
  process.stdout.write(`Host ready: ${host.http.url}/api/ui?code=${functionKey}\n`);
  const stop = () => {
    void host.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`Host failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
