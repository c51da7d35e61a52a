import type { IncomingMessage, ServerResponse } from 'node:http';
import { gunzipSync, inflateSync } from 'node:zlib';
import { readBody, sendJson, startLoopbackHttps } from './http';
import { nowMs } from './requestLog';

/** One telemetry item as the Breeze ingestion API receives it (the exporter's wire format). */
export interface TelemetryEnvelope {
  name: string;
  time: string;
  iKey?: string;
  sampleRate?: number;
  tags?: Record<string, string>;
  data?: {
    /** ExceptionData, MessageData, EventData, RequestData, RemoteDependencyData, MetricData... */
    baseType?: string;
    baseData?: {
      ver?: number;
      name?: string;
      message?: string;
      severityLevel?: string;
      exceptions?: Array<{ typeName?: string; message?: string; hasFullStack?: boolean; stack?: string }>;
      /** What App Insights shows as customDimensions. */
      properties?: Record<string, string>;
      measurements?: Record<string, number>;
      [key: string]: unknown;
    };
  };
}

export interface SinkRequest {
  at: number;
  method: string;
  path: string;
  gzip: boolean;
  items: number;
  status: number;
}

export interface AppInsightsSinkOptions {
  port?: number;
  instrumentationKey?: string;
}

export interface AppInsightsSink {
  /** https://127.0.0.1:<port> */
  readonly url: string;
  readonly port: number;
  readonly instrumentationKey: string;
  /** InstrumentationKey=…;IngestionEndpoint=https://127.0.0.1:<port>/;LiveEndpoint=https://127.0.0.1:<port>/ */
  readonly connectionString: string;
  /** Every envelope received, in arrival order. */
  envelopes(): TelemetryEnvelope[];
  /** Envelopes of one baseType, e.g. 'ExceptionData', 'MessageData', 'EventData'. */
  envelopesOfType(baseType: string): TelemetryEnvelope[];
  /** Envelopes whose customDimensions (baseData.properties) has errorCode === code. */
  withErrorCode(code: string): TelemetryEnvelope[];
  /** Envelopes whose customDimensions contain every given key/value. */
  withProperties(match: Record<string, string>): TelemetryEnvelope[];
  /** Resolves once `predicate` matches at least one envelope (the exporter sends asynchronously). */
  waitFor(predicate: (e: TelemetryEnvelope) => boolean, timeoutMs?: number): Promise<TelemetryEnvelope[]>;
  /** Ingestion POSTs, including live-metrics calls. */
  requests(): SinkRequest[];
  /** The next `times` track POSTs get this status (Breeze-shaped body), e.g. 503 to exercise exporter retry. */
  failNext(status: number, times?: number): void;
  clear(): void;
  close(): Promise<void>;
}

/** customDimensions of an envelope ({} when none). */
export function customDimensions(envelope: TelemetryEnvelope): Record<string, string> {
  return envelope.data?.baseData?.properties ?? {};
}

function decode(raw: Buffer, encoding: string | undefined): { text: string; gzip: boolean } {
  // The exporter has sent both plain and gzipped bodies across versions; trust the magic bytes too.
  const gz = encoding === 'gzip' || (raw[0] === 0x1f && raw[1] === 0x8b);
  if (gz) return { text: gunzipSync(raw).toString('utf8'), gzip: true };
  if (encoding === 'deflate') return { text: inflateSync(raw).toString('utf8'), gzip: false };
  return { text: raw.toString('utf8'), gzip: false };
}

function parseEnvelopes(text: string): TelemetryEnvelope[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  if (trimmed.startsWith('[')) return JSON.parse(trimmed) as TelemetryEnvelope[];
  // Older SDKs post newline-delimited JSON.
  return trimmed
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as TelemetryEnvelope);
}

export async function startAppInsightsSink(options: AppInsightsSinkOptions = {}): Promise<AppInsightsSink> {
  const received: TelemetryEnvelope[] = [];
  const log: SinkRequest[] = [];
  const waiters = new Set<() => void>();
  let failures: { status: number; remaining: number } | undefined;

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    void (async () => {
      const path = new URL(req.url ?? '/', 'https://localhost').pathname;
      const method = req.method ?? 'GET';
      const raw = await readBody(req);
      const entry: SinkRequest = { at: nowMs(), method, path, gzip: false, items: 0, status: 200 };
      log.push(entry);

      if (/^\/QuickPulseService\.svc\/(ping|post)$/i.test(path)) {
        // "Not subscribed": the live-metrics client goes back to slow pinging and sends nothing else.
        res.writeHead(200, { 'x-ms-qps-subscribed': 'false', 'Content-Type': 'application/json' });
        res.end('{}');
        return;
      }
      if (method !== 'POST' || !/^\/v2(\.1)?\/track\/?$/.test(path)) {
        entry.status = 404;
        sendJson(res, 404, { error: `App Insights sink does not serve ${method} ${path}` });
        return;
      }
      let items: TelemetryEnvelope[];
      try {
        const decoded = decode(raw, req.headers['content-encoding']);
        entry.gzip = decoded.gzip;
        items = parseEnvelopes(decoded.text);
      } catch (err) {
        entry.status = 400;
        sendJson(res, 400, {
          itemsReceived: 0,
          itemsAccepted: 0,
          appId: null,
          errors: [{ index: 0, statusCode: 400, message: `Invalid payload: ${String(err)}` }],
        });
        return;
      }
      entry.items = items.length;
      if (failures && failures.remaining > 0) {
        failures.remaining--;
        entry.status = failures.status;
        sendJson(res, failures.status, {
          itemsReceived: items.length,
          itemsAccepted: 0,
          appId: null,
          errors: items.map((_, index) => ({ index, statusCode: failures?.status ?? 500, message: 'Injected by the App Insights sink' })),
        });
        return;
      }
      received.push(...items);
      sendJson(res, 200, { itemsReceived: items.length, itemsAccepted: items.length, appId: null, errors: [] });
      for (const wake of [...waiters]) wake();
    })().catch((err: unknown) => sendJson(res, 500, { error: String(err) }));
  };

  const server = await startLoopbackHttps(handler, options.port ?? 0);
  const instrumentationKey = options.instrumentationKey ?? '00000000-0000-0000-0000-000000000000';

  const sink: AppInsightsSink = {
    url: server.url,
    port: server.port,
    instrumentationKey,
    connectionString: `InstrumentationKey=${instrumentationKey};IngestionEndpoint=${server.url}/;LiveEndpoint=${server.url}/`,
    envelopes: () => received.map((e) => structuredClone(e)),
    envelopesOfType: (baseType) => sink.envelopes().filter((e) => e.data?.baseType === baseType),
    withErrorCode: (code) => sink.withProperties({ errorCode: code }),
    withProperties: (match) =>
      sink.envelopes().filter((e) => {
        const dims = customDimensions(e);
        return Object.entries(match).every(([k, v]) => dims[k] === v);
      }),
    waitFor: (predicate, timeoutMs = 10_000) =>
      new Promise((resolve, reject) => {
        const check = (): boolean => {
          const hits = received.filter(predicate);
          if (hits.length === 0) return false;
          cleanup();
          resolve(hits.map((e) => structuredClone(e)));
          return true;
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`App Insights sink: no matching envelope within ${timeoutMs} ms (received ${received.length})`));
        }, timeoutMs);
        const wake = (): void => void check();
        const cleanup = (): void => {
          clearTimeout(timer);
          waiters.delete(wake);
        };
        waiters.add(wake);
        check();
      }),
    requests: () => log.map((r) => ({ ...r })),
    failNext: (status, times = 1) => {
      failures = { status, remaining: times };
    },
    clear: () => {
      received.length = 0;
      log.length = 0;
    },
    close: () => server.close(),
  };
  return sink;
}
