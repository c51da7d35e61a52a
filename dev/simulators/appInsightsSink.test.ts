/**
 * The real applicationinsights 3.16 SDK (OpenTelemetry + @azure/monitor-opentelemetry-exporter)
 * exporting to the loopback ingestion sink.
 *
 * Recipe (isolated client, no global OpenTelemetry state, nothing auto-collected, nothing on disk):
 *   process.env.APPLICATION_INSIGHTS_NO_STATSBEAT = 'true';          // no statsbeat to Azure hosts
 *   const client = new TelemetryClient(connectionString, { useGlobalProviders: false });
 *   client.config.enableUseDiskRetryCaching = false;                 // → disableOfflineStorage
 *   client.trackException({ exception, properties: { errorCode } }); // properties = customDimensions
 *   await client.flush();                                            // one POST /v2.1/track
 *   await client.shutdown();                                         // process can exit
 */
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { customDimensions, startAppInsightsSink, type AppInsightsSink } from './appInsightsSink';
import { ensureTestCaTrusted } from './tls';

ensureTestCaTrusted();

let sink: AppInsightsSink;

beforeAll(async () => {
  sink = await startAppInsightsSink();
});

afterAll(async () => {
  await sink?.close();
});

describe('App Insights ingestion sink', () => {
  it('receives what TelemetryClient sends, with properties as customDimensions', async () => {
    process.env['APPLICATION_INSIGHTS_NO_STATSBEAT'] = 'true';
    const started = performance.now();
    const ai = await import('applicationinsights');
    const requireMs = performance.now() - started;
    console.info(`import('applicationinsights') took ${requireMs.toFixed(0)} ms`);

    const client = new ai.TelemetryClient(sink.connectionString, { useGlobalProviders: false });
    client.config.enableUseDiskRetryCaching = false;
    try {
      client.trackException({ exception: new Error('Mailbox not enabled'), properties: { errorCode: 'DSEX030', tenantId: 't-1' } });
      client.trackTrace({ message: '[DSEX030] mailbox not enabled', properties: { errorCode: 'DSEX030' } });
      client.trackEvent({ name: 'SyncFailed', properties: { errorCode: 'DSEX030' } });
      client.trackTrace({ message: 'unrelated', properties: { errorCode: 'DSEX001' } });
      const options = (client as unknown as { _options: { azureMonitorExporterOptions: { disableOfflineStorage: boolean } } })._options;
      expect(options.azureMonitorExporterOptions.disableOfflineStorage).toBe(true);
      await client.flush();
    } finally {
      await client.shutdown();
    }

    const hits = sink.withErrorCode('DSEX030');
    expect(hits.map((e) => e.data?.baseType).sort()).toEqual(['EventData', 'ExceptionData', 'MessageData']);
    const [exception] = sink.envelopesOfType('ExceptionData');
    expect(exception).toMatchObject({
      name: 'Microsoft.ApplicationInsights.Exception',
      iKey: sink.instrumentationKey,
      data: { baseData: { exceptions: [{ typeName: 'Error', message: 'Mailbox not enabled' }], severityLevel: 'Error' } },
    });
    expect(customDimensions(exception!)).toEqual({ errorCode: 'DSEX030', tenantId: 't-1' });
    expect(sink.withProperties({ errorCode: 'DSEX030', tenantId: 't-1' })).toHaveLength(1);
    expect(sink.withErrorCode('DSEX001')).toHaveLength(1);
    expect(sink.envelopesOfType('MessageData').map((e) => e.data?.baseData?.message)).toContain('[DSEX030] mailbox not enabled');
    expect(sink.requests().filter((r) => r.path === '/v2.1/track')).toHaveLength(1);
  });

  it('accepts gzip-compressed newline-delimited envelopes and answers like Breeze', async () => {
    sink.clear();
    const lines = [
      { name: 'Microsoft.ApplicationInsights.Message', time: new Date().toISOString(), data: { baseType: 'MessageData', baseData: { message: 'a', properties: { errorCode: 'DSHTTP001' } } } },
      { name: 'Microsoft.ApplicationInsights.Message', time: new Date().toISOString(), data: { baseType: 'MessageData', baseData: { message: 'b' } } },
    ];
    const res = await fetch(`${sink.url}/v2/track`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-json-stream', 'Content-Encoding': 'gzip' },
      body: gzipSync(lines.map((l) => JSON.stringify(l)).join('\n')),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ itemsReceived: 2, itemsAccepted: 2, appId: null, errors: [] });
    expect(sink.withErrorCode('DSHTTP001')).toHaveLength(1);
    expect(sink.requests()).toMatchObject([{ path: '/v2/track', gzip: true, items: 2 }]);
    await expect(sink.waitFor((e) => e.data?.baseData?.message === 'b', 100)).resolves.toHaveLength(1);
  });

  it('answers live metrics harmlessly, rejects garbage, and can fail on demand', async () => {
    const ping = await fetch(`${sink.url}/QuickPulseService.svc/ping?ikey=${sink.instrumentationKey}`, { method: 'POST', body: '{}' });
    expect(ping.status).toBe(200);
    expect(ping.headers.get('x-ms-qps-subscribed')).toBe('false');

    const bad = await fetch(`${sink.url}/v2.1/track`, { method: 'POST', body: '[{' });
    expect(bad.status).toBe(400);

    sink.clear();
    sink.failNext(503);
    const body = JSON.stringify([{ name: 'x', time: new Date().toISOString() }]);
    const failed = await fetch(`${sink.url}/v2.1/track`, { method: 'POST', body });
    expect(failed.status).toBe(503);
    expect(await failed.json()).toMatchObject({ itemsReceived: 1, itemsAccepted: 0 });
    expect(sink.envelopes()).toHaveLength(0);
    expect((await fetch(`${sink.url}/v2.1/track`, { method: 'POST', body })).status).toBe(200);
    expect(sink.envelopes()).toHaveLength(1);
    await expect(sink.waitFor(() => false, 50)).rejects.toThrow(/no matching envelope/);
  });
});
