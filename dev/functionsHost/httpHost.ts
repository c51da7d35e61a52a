import { HttpRequest, HttpResponse, InvocationContext } from '@azure/functions';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RegisteredFunction } from './fakeCore';
import { byPrecedence, matchRoute, parseRoute, type RouteTemplate } from './routes';

export interface HttpHostOptions {
  functions: Iterable<RegisteredFunction>;
  /** the key `authLevel: function` routes demand, as `?code=` or `x-functions-key` */
  functionKey: string;
  port?: number;
  routePrefix?: string;
  log?: (line: string) => void;
}

export interface HttpHost {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

interface HttpRoute {
  name: string;
  route: RouteTemplate;
  methods: string[];
  authLevel: string;
  handler: RegisteredFunction['handler'];
}

function httpRoutes(functions: Iterable<RegisteredFunction>): HttpRoute[] {
  const routes: HttpRoute[] = [];
  for (const fn of functions) {
    const trigger = Object.values(fn.metadata.bindings).find((b) => b.type === 'httpTrigger');
    if (!trigger) continue;
    routes.push({
      name: fn.metadata.name,
      route: parseRoute(String(trigger.route ?? fn.metadata.name)),
      methods: ((trigger.methods as string[] | undefined) ?? ['GET', 'POST']).map((m) => m.toUpperCase()),
      authLevel: String(trigger.authLevel ?? 'function'),
      handler: fn.handler,
    });
  }
  return routes.sort((a, b) => byPrecedence(a.route, b.route));
}

async function readBody(req: IncomingMessage): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function flatHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/**
 * Serves the app's HTTP functions on loopback the way the Functions host does: `/api/<route>`,
 * method filtering (404 for a method the route does not accept), function keys for `authLevel: function`, one InvocationContext per request.
 */
export async function startHttpHost(options: HttpHostOptions): Promise<HttpHost> {
  const routes = httpRoutes(options.functions);
  const prefix = `/${(options.routePrefix ?? 'api').replace(/^\/|\/$/g, '')}`;
  const log = options.log ?? (() => undefined);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const base = `http://${req.headers.host ?? '127.0.0.1'}`;
    const requestUrl = new URL(req.url ?? '/', base);
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    if (!requestUrl.pathname.startsWith(`${prefix}/`) && requestUrl.pathname !== prefix) return send(404, 'Not found');
    const path = requestUrl.pathname.slice(prefix.length);
    const candidates = routes.map((r) => ({ r, params: matchRoute(r.route, path) })).filter((c) => c.params !== undefined);
    const method = (req.method ?? 'GET').toUpperCase();
    // The Functions host matches the method as part of the route: a route that exists for other
    // methods only answers 404, not 405 (azure-functions-host#10098).
    const hit = candidates.find((c) => c.r.methods.includes(method));
    if (!hit) return send(404, 'Not found');
    const key = requestUrl.searchParams.get('code') ?? req.headers['x-functions-key'];
    if (hit.r.authLevel !== 'anonymous' && key !== options.functionKey) return send(401, 'Unauthorized: a function key is required (?code= or x-functions-key).');

    const body = await readBody(req);
    const request = new HttpRequest({
      method,
      url: requestUrl.toString(),
      headers: flatHeaders(req),
      query: Object.fromEntries(requestUrl.searchParams),
      params: hit.params,
      ...(body.length > 0 ? { body: { bytes: body } } : {}),
    });
    const invocationId = randomUUID();
    const context = new InvocationContext({
      invocationId,
      functionName: hit.r.name,
      logHandler: (level, ...args) => log(`[${hit.r.name}] ${level}: ${args.map(String).join(' ')}`),
    });
    const result = (await hit.r.handler(request, context)) as ConstructorParameters<typeof HttpResponse>[0];
    const response = new HttpResponse(result);
    const headers: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      headers[name] = value;
    });
    res.writeHead(response.status, headers);
    res.end(Buffer.from(await response.arrayBuffer()));
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      log(`HTTP host error: ${String(error)}`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('Internal error');
    });
  });
  await new Promise<void>((resolve, reject) => {
    // EADDRINUSE and friends reject the start instead of crashing the process with an 'error' event.
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
