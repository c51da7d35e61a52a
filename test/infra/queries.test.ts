import { basename, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAppInsightsSink, type AppInsightsSink, type TelemetryEnvelope } from '../../dev/simulators/appInsightsSink';
import { ensureTestCaTrusted } from '../../dev/simulators/tls';
import { diagnose } from '../../shared/diagnostics/classifier';
import { UnreadableCredentialsError } from '../../shared/diagnostics/domainErrors';
import { reportDiagnosis } from '../../shared/pipeline/report';
import { emptySummary, reportSweep, RETRY_SWEEP_EVENT } from '../../shared/retry/summary';
import { RETRY_GIVEN_UP_EVENT } from '../../shared/retry/sweep';
import { AppInsightsTelemetry } from '../../shared/telemetry/appInsightsTelemetry';
import { filesUnder, infra, read, root } from './infraText';
import { APP_INSIGHTS_TABLES, kqlErrors } from './kusto';

const queryFiles = filesUnder(join(infra, 'queries'), '.kql');
const text = (file: string) => read(relative(root, file));
const silentLog = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** Which App Insights table each envelope type lands in. */
const TABLE_OF: Record<string, string> = { MessageData: 'traces', ExceptionData: 'exceptions', EventData: 'customEvents' };

/** The properties of the sweep's RetryGivenUp event (shared/retry/sweep.ts `giveUp`). */
const RETRY_GIVEN_UP_KEYS = ['errorCode', 'status', 'retryClass', 'transactionId', 'tenantId', 'connectorId', 'firstFailureAt', 'attempts', 'reason'];

/**
 * The vocabulary the queries may use, learnt from what the app's own telemetry code sends to a
 * loopback ingestion endpoint: per table, the customDimensions keys; event names; measurement keys.
 */
const seen = { dimensions: new Map<string, Set<string>>(), events: new Set<string>(), measurements: new Set<string>() };
let envelopes: TelemetryEnvelope[] = [];
let sink: AppInsightsSink;

function learn(table: string, keys: string[]): void {
  const set = seen.dimensions.get(table) ?? new Set<string>();
  for (const key of keys) set.add(key);
  seen.dimensions.set(table, set);
}

beforeAll(async () => {
  ensureTestCaTrusted();
  sink = await startAppInsightsSink();
  const telemetry = new AppInsightsTelemetry(sink.connectionString, { offlineStorage: false });
  // The context the sync pipeline adds to every diagnosis (shared/pipeline/syncAppointment.ts).
  const context = {
    transactionId: 't-1', source: 'Service', tenantId: 'tenant-1', connectorId: 'c-1', appointmentId: 'a-1',
    appointmentVersion: '1', action: 'upsert', connectorType: 'Webhook', attempt: '1',
  };
  try {
    reportDiagnosis(silentLog, telemetry, diagnose(new TypeError('something nobody classified')), context);
    reportDiagnosis(silentLog, telemetry, diagnose(new UnreadableCredentialsError('bad key')), context);
    reportSweep(silentLog, telemetry, { ...emptySummary(), due: 3, enqueued: 2, skipped: { 'not-due': 1 } });
    await telemetry.flush();
    await sink.waitFor((e) => e.data?.baseType === 'EventData');
  } finally {
    await telemetry.shutdown();
  }
  envelopes = sink.envelopes().filter((e) => e.data?.baseType && e.data.baseType in TABLE_OF);
  for (const e of envelopes) {
    const table = TABLE_OF[e.data!.baseType!]!;
    learn(table, Object.keys(e.data?.baseData?.properties ?? {}));
    if (table === 'customEvents') seen.events.add(String(e.data?.baseData?.name));
    for (const key of Object.keys(e.data?.baseData?.measurements ?? {})) seen.measurements.add(key);
  }
  // Events the test cannot raise without a store or a breaker: their names and keys come from the code
  // that writes them, checked below against that source.
  seen.events.add(RETRY_GIVEN_UP_EVENT);
  learn('customEvents', RETRY_GIVEN_UP_KEYS);
  seen.events.add('WebhookBreakerStateChanged');
  seen.events.add('WebhookBreakerStoreUnavailable');
  learn('customEvents', ['tenantId', 'connectorId', 'from', 'to', 'storageCode']);
}, 60_000);

afterAll(async () => {
  await sink?.close();
});

/** Tables a query reads: the first word, or the tables of a leading `union`. */
function tablesOf(query: string): string[] {
  const body = query.replace(/^\s*\/\/.*$/gm, '').replace(/^\s*let [^;]+;\s*$/gm, '').trim();
  const union = /^union\s+([\w\s,]+?)\s*(?:\||$)/.exec(body);
  if (union) return union[1]!.split(',').map((t) => t.trim());
  return [/^(\w+)/.exec(body)![1]!];
}

const refs = (query: string, column: string) =>
  [...query.matchAll(new RegExp(`${column}(?:\\.(\\w+)|\\[\\s*['"](\\w+)['"]\\s*\\])`, 'g'))].map((m) => m[1] ?? m[2]!);

describe('infra/queries/*.kql', () => {
  it('has the queries operators need, alerts included', () => {
    const names = queryFiles.map((f) => relative(join(infra, 'queries'), f).replace(/\\/g, '/')).sort();
    expect(names).toEqual(
      expect.arrayContaining([
        'failures-by-error-code.kql', 'fix-config-by-connector.kql', 'fix-config-by-tenant.kql', 'undiagnosed-with-stacks.kql',
        'webhook-breaker-openings.kql', 'retry-sweep-outcomes.kql',
        'alerts/undiagnosed-failure.kql', 'alerts/transient-failures.kql', 'alerts/retry-backlog-growing.kql',
      ]),
    );
  });

  it('the KQL analyzer catches unknown columns, tables and syntax errors (so a clean result means something)', () => {
    expect(kqlErrors('traces | summarize count() by tostring(customDimensions.errorCode)')).toEqual([]);
    expect(kqlErrors('traces | where tostring(custDimensions.errorCode) == "DSEX001"').join()).toMatch(/custDimensions/);
    expect(kqlErrors('trace | take 1').join()).toMatch(/trace/);
    expect(kqlErrors('customEvents | where tostring(customDimensions.to) == "Open"')).not.toEqual([]);
    expect(kqlErrors('exceptions | summarize count() by bin(timestamp 1h)')).not.toEqual([]);
  });

  it.each(queryFiles.map((f) => [relative(infra, f), f]))('%s parses and type-checks against the Application Insights tables', (_name, file) => {
    const query = text(file);
    expect(kqlErrors(query)).toEqual([]);
    for (const table of tablesOf(query)) expect(Object.keys(APP_INSIGHTS_TABLES)).toContain(table);
  });

  it('the telemetry writes errorCode, retryClass and the ids as customDimensions, and DSUNK001 as an exception with its stack', () => {
    const traces = envelopes.filter((e) => e.data?.baseType === 'MessageData');
    const exceptions = envelopes.filter((e) => e.data?.baseType === 'ExceptionData');
    expect(exceptions.map((e) => e.data?.baseData?.properties?.errorCode)).toEqual(['DSUNK001']);
    // The exporter sends the stack as parsed frames: App Insights shows them as details[0].parsedStack.
    const [detail] = exceptions[0]!.data?.baseData?.exceptions ?? [];
    expect(detail).toMatchObject({ typeName: 'DSUNK001', hasFullStack: true });
    expect((detail?.['parsedStack' as keyof typeof detail] as unknown as Array<{ assembly: string }>)[0]?.assembly).toMatch(/^at /);
    expect(traces.map((e) => e.data?.baseData?.properties?.errorCode)).toEqual(['DSCFG006']);
    expect(traces[0]!.data?.baseData?.properties).toMatchObject({ retryClass: 'fix-config', tenantId: 'tenant-1', connectorId: 'c-1' });
    expect(seen.events).toContain(RETRY_SWEEP_EVENT);
  });

  it.each(queryFiles.map((f) => [relative(infra, f), f]))('%s uses only customDimensions, customMeasurements and event names the telemetry writes', (_name, file) => {
    const query = text(file);
    const tables = tablesOf(query);
    const allowed = new Set(tables.flatMap((t) => [...(seen.dimensions.get(t) ?? [])]));
    const unknown = refs(query, 'customDimensions').filter((k) => !allowed.has(k));
    expect(unknown, `customDimensions keys that ${tables.join('/')} never carry`).toEqual([]);
    expect(refs(query, 'customMeasurements').filter((k) => !seen.measurements.has(k))).toEqual([]);
    const events = [...query.matchAll(/\bname\s*==\s*"(\w+)"/g)].map((m) => m[1]!);
    expect(events.filter((n) => !seen.events.has(n))).toEqual([]);
    // errorCode is read the way it is written: customDimensions.errorCode, never a look-alike.
    expect(query).not.toMatch(/customDimensions(\.|\[\s*['"])(error_?code|ErrorCode|code)\b/);
    if (/errorCode/.test(query)) expect(query).toMatch(/customDimensions\.errorCode/);
  });

  it('the names the queries take from code exist in the code that writes them', () => {
    const sweep = read('shared', 'retry', 'sweep.ts');
    expect(RETRY_GIVEN_UP_EVENT).toBe('RetryGivenUp');
    for (const key of RETRY_GIVEN_UP_KEYS) {
      expect(sweep, `RetryGivenUp property ${key}`).toMatch(new RegExp(`\\b${key}(: |,)`));
    }
    const compose = read('shared', 'webhook', 'compose.ts');
    expect(compose).toMatch(/trackEvent\('WebhookBreakerStateChanged', \{ tenantId: key\.tenantId, connectorId: key\.connectorId, from, to \}\)/);
    expect(compose).toMatch(/trackEvent\('WebhookBreakerStoreUnavailable', \{ tenantId: key\.tenantId, connectorId: key\.connectorId, storageCode:/);
    expect(read('shared', 'webhook', 'breakerState.ts')).toMatch(/BreakerPhase = 'Closed' \| 'Open' \| 'HalfOpen'/);
    const pipeline = read('shared', 'pipeline', 'syncAppointment.ts');
    for (const key of ['transactionId', 'source', 'tenantId', 'connectorId', 'appointmentId', 'appointmentVersion', 'action', 'connectorType', 'attempt']) {
      expect(pipeline, `sync context property ${key}`).toMatch(new RegExp(`\\b${key}[:,]`));
    }
  });

  it('the failures and fix-config queries group by the right dimensions', () => {
    const q = (name: string) => text(join(infra, 'queries', name));
    expect(q('failures-by-error-code.kql')).toMatch(/summarize[^|]+by errorCode, bin\(timestamp/);
    expect(q('fix-config-by-connector.kql')).toMatch(/customDimensions\.retryClass\) == "fix-config"[\s\S]+by tenantId, connectorId/);
    expect(q('fix-config-by-tenant.kql')).toMatch(/customDimensions\.retryClass\) == "fix-config"[\s\S]+by tenantId\s*$/m);
    expect(q('undiagnosed-with-stacks.kql')).toMatch(/errorCode\) == "DSUNK001"[\s\S]+details\[0\]\.parsedStack[\s\S]+frame\.assembly/);
    expect(q('webhook-breaker-openings.kql')).toMatch(/customDimensions\['to'\]\) == "Open"/);
    expect(basename(queryFiles[0]!)).toMatch(/\.kql$/);
  });
});
