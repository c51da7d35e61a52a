import { randomUUID } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import { Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { testTlsOptions } from './tls';

export interface LoopbackServer {
  readonly server: Server;
  readonly port: number;
  /** https://127.0.0.1:<port> (no trailing slash) */
  readonly url: string;
  /** Destroys every open socket (including hung requests and idle keep-alive ones), then resolves. */
  close(): Promise<void>;
}

/**
 * An HTTPS server on 127.0.0.1 that remembers its sockets: SDK clients keep connections alive and
 * simulators deliberately leave requests hanging, so server.close() alone would never resolve.
 */
export async function startLoopbackHttps(handler: RequestListener, port = 0): Promise<LoopbackServer> {
  const sockets = new Set<Socket>();
  const server = createServer({ ...testTlsOptions() }, handler);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  // A client that gives up mid-handshake must not crash the test process.
  server.on('tlsClientError', () => undefined);
  server.on('clientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actualPort = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    server,
    port: actualPort,
    url: `https://127.0.0.1:${actualPort}`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      return closing;
    },
  };
}

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.destroyed || res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/**
 * Kills the connection without an HTTP answer. A TCP RST (what a crashed proxy or load balancer
 * produces) is sent where the platform allows it, so clients see ECONNRESET rather than a clean EOF.
 */
export function resetConnection(req: IncomingMessage): void {
  const tlsSocket = req.socket as Socket & { _parent?: Socket };
  const raw = tlsSocket._parent instanceof Socket ? tlsSocket._parent : undefined;
  try {
    if (raw && typeof raw.resetAndDestroy === 'function') {
      raw.resetAndDestroy();
      tlsSocket.destroy();
      return;
    }
  } catch {
    // fall through to a plain destroy
  }
  tlsSocket.destroy();
}

export function newGuid(): string {
  return randomUUID();
}

/** Entra's timestamp format: "2024-05-01 10:11:12Z". */
export function entraTimestamp(date = new Date()): string {
  return date.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/** Graph innerError.date format: "2024-05-01T10:11:12" (UTC, no zone designator). */
export function graphDate(date = new Date()): string {
  return date.toISOString().replace(/\.\d+Z$/, '');
}

export function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}
