import { readSettings } from '../shared/config/settings';
import { CATALOGUE } from '../shared/diagnostics/catalogue';
import { ConnectorStore } from '../shared/storage/connectors';
import { EventMappingStore } from '../shared/storage/eventMappings';
import { createSecretProtector, parseKey } from '../shared/storage/secretProtector';
import { createTableProvider } from '../shared/storage/tableClients';
import { runDemoBatch, SettleTracker } from './demo/runner';
import { demoBatch, expectedOutcomes, scenariosOf } from './demo/scenarios';
import { compareWithExpected, coverage, DiagnosisLog, readRowsThroughApi, renderSummaryTable, summarize } from './demo/summary';
import { newPartnerSecret, seedWorld } from './demo/world';
import { applyLocalSettings, startLocalHost, type LocalHost } from './functionsHost/localHost';
import { repoRoot } from './functionsHost/loadApp';
import { planLocalServices, startLocalServices } from './localServices';
import { startPartnerSimulator } from './simulators/partner';
import { ensureTestCaTrusted } from './simulators/tls';

/**
 * `npm start`: the whole product on loopback. Local settings are applied as app settings; Azurite,
 * the Service Bus broker and the Entra + Graph simulator start wherever the settings do not point at
 * a real endpoint; the local Functions host runs the app's functions (HTTP on :7071, the queue with
 * peek-lock, timers on their schedules). With everything local, a demo batch exercises every
 * catalogued code and a summary is printed, read back through the app's own JSON API.
 * Runs until Ctrl-C / SIGTERM, then stops everything it started.
 */
const out = (text = '') => process.stdout.write(`${text}\n`);
const closers: Array<{ name: string; close(): Promise<void> }> = [];
let stopping = false;

async function shutdown(code: number): Promise<never> {
  stopping = true;
  for (const closer of closers.reverse()) {
    await closer.close().catch((error: unknown) => process.stderr.write(`stopping ${closer.name} failed: ${String(error)}\n`));
  }
  process.exit(code);
}

function onSignal(signal: NodeJS.Signals): void {
  if (stopping) {
    process.stderr.write(`${signal} again: exiting now.\n`);
    process.exit(130);
  }
  out(`\n${signal}: stopping the host and every local service…`);
  void shutdown(0).then(undefined, () => process.exit(1));
}

async function main(): Promise<void> {
  const startedAt = Date.now();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const root = repoRoot();
  const fromLocalSettings = applyLocalSettings(root);
  const batch = demoBatch(process.env.DEMO_BATCH);
  const plan = planLocalServices(process.env);
  const demoPossible = plan.tables && plan.serviceBus && plan.entraGraph;
  const runDemo = batch !== 'off' && demoPossible;

  out(`Appointment sync connector — local run (${CATALOGUE.length} catalogued codes)`);
  if (fromLocalSettings.length > 0) out(`Settings: ${fromLocalSettings.length} value(s) from local.settings.json (the environment wins)`);

  const services = await startLocalServices(process.env, plan, { root, tableFaults: runDemo });
  closers.push({ name: 'local services', close: () => services.close() });
  const partnerSecret = newPartnerSecret();
  const partner = runDemo ? await startPartnerSimulator({ signingSecret: partnerSecret, rejectInvalidSignatures: true }) : undefined;
  if (partner) {
    ensureTestCaTrusted();
    closers.push({ name: 'partner simulator', close: () => partner.close() });
  }
  if (stopping) return;
  for (const line of services.describe()) out(`  ${line}`);
  if (partner) out(`  Partner webhooks    simulator on ${partner.url} (verifies Standard Webhooks signatures)`);

  const settings = readSettings(process.env); // fail now, with every bad setting named
  const tracker = new SettleTracker(services.queueProperties.maxDeliveryCount);
  const diagnoses = new DiagnosisLog();
  const port = Number(process.env.LOCAL_HOST_PORT ?? 7071);
  const functionKey = process.env.LOCAL_FUNCTION_KEY ?? 'local-dev-key';
  const host: LocalHost = await startLocalHost({
    port,
    functionKey,
    fromSource: __filename.endsWith('.ts'),
    onSettled: tracker.onSettled,
    log: (line) => {
      diagnoses.observe(line);
      out(line);
    },
  });
  closers.push({ name: 'local host', close: () => host.close() });
  const hostPort = new URL(host.http.url).port;
  const publicUrl = `http://localhost:${hostPort}`;
  const loopbackUrl = `http://127.0.0.1:${hostPort}`;
  out(`Host ready: ${publicUrl}/api (functions: ${[...host.app.functions.keys()].join(', ')})`);
  if (stopping) return;

  if (runDemo) {
    const tables = createTableProvider({ connectionString: process.env.TablesConnection });
    const base = {
      sim: services.entraGraph!,
      partner: partner!,
      tableFaults: services.tableFaults!,
      tables,
      connectors: new ConnectorStore(tables, createSecretProtector(parseKey(process.env.SECRET_PROTECTION_KEY!))),
      mappings: new EventMappingStore(tables),
      partnerSecret,
      breakerThreshold: settings.WEBHOOK_BREAKER_FAILURE_THRESHOLD,
    };
    const scenarios = scenariosOf(batch);
    const params = { breakerThreshold: settings.WEBHOOK_BREAKER_FAILURE_THRESHOLD };
    await seedWorld(base);
    out(`Demo batch (${batch}): ${scenarios.length} stories, seeded tenants contoso (Exchange), fabrikam and northwind (webhooks)…`);
    const result = await runDemoBatch(scenarios, base, { serviceBusConnection: process.env.ServiceBusConnection!, queueName: services.queueName, tracker, params });
    if (stopping) return;
    const rows = await readRowsThroughApi(loopbackUrl, functionKey);
    const lines = summarize(rows, diagnoses.entries());
    const { seen, missing } = coverage(lines);
    const problems = [...result.problems.map((p) => `${p.scenario}: ${p.error}`), ...compareWithExpected(lines, expectedOutcomes(scenarios, params))];
    const redelivered = result.settled.filter((s) => s.deliveries > 1).length;
    const deadLettered = result.settled.filter((s) => s.outcome === 'dead-lettered').length;
    out('');
    out(`Demo batch settled: ${result.settled.length} messages (${redelivered} delivered again after a storage failure, ${deadLettered} dead-lettered), ${rows.length} transaction rows, in ${(result.durationMs / 1000).toFixed(1)} s`);
    out('');
    out(renderSummaryTable(lines));
    out('');
    out(`Catalogued codes exercised: ${seen.length} of ${CATALOGUE.length}${missing.length ? ` (not in this batch: ${missing.join(', ')})` : ''}`);
    out(problems.length === 0 ? 'Every story ended as expected.' : `Stories that did not end as expected:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  } else if (batch !== 'off') {
    const real = [!plan.tables && 'Table Storage', !plan.serviceBus && 'Service Bus', !plan.entraGraph && 'Entra ID/Graph'].filter(Boolean).join(', ');
    out(`No demo batch: ${real} point(s) at real endpoints; the demo only seeds local emulators.`);
  }

  out('');
  out(`Errors page: ${publicUrl}/api/ui?code=${functionKey}`);
  out(`JSON API:    ${publicUrl}/api/transactions/summary?code=${functionKey}`);
  out(`Ready in ${((Date.now() - startedAt) / 1000).toFixed(1)} s. Press Ctrl-C to stop.`);
}

main().catch(async (error: unknown) => {
  const inUse = (error as NodeJS.ErrnoException).code === 'EADDRINUSE';
  const text = inUse
    ? `port ${process.env.LOCAL_HOST_PORT ?? 7071} is in use (another npm start or func start?): stop it, or set LOCAL_HOST_PORT.`
    : error instanceof Error
      ? (error.stack ?? error.message)
      : String(error);
  process.stderr.write(`npm start failed: ${text}\n`);
  await shutdown(1);
});
