import { randomUUID } from 'node:crypto';
import { Agent, createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { AZURITE_ACCOUNT_NAME, azuriteTablesConnectionString } from '../azurite';

/**
 * A fault-injecting HTTP proxy in front of Azurite's table service: the app's TablesConnection points
 * at the proxy, which forwards every request unchanged (Shared Key signatures cover the path, not the
 * port) except those a rule claims, which get the answer the real Table service gives when it is busy,
 * refuses the identity, loses a concurrency race or times out. This is how the storage codes
 * (DSDB001…DSDB004) are provoked from outside the running product.
 */
export type TableFault =
  /** a Table service error: status, x-ms-error-code and the service's JSON error body */
  | { kind: 'status'; status: number; code: string; message?: string }
  /** the connection is dropped without an answer (the client sees ECONNRESET) */
  | { kind: 'reset' };

export interface TableFaultRule {
  /** only these methods (e.g. ['GET'], ['POST', 'PUT']); any when absent */
  methods?: readonly string[];
  /** only requests to this table (its name is the first path segment after the account) */
  table?: string;
  /** a text the decoded request target or body must contain, e.g. RowKey='m-1' */
  contains?: string;
  /** how many matching requests get the fault (the SDK's own retries count: 1 + 3 by default) */
  times: number;
  fault: TableFault;
}

export interface TableFaultProxy {
  readonly port: number;
  /** http://127.0.0.1:<port>/devstoreaccount1 */
  readonly tableEndpoint: string;
  /** Azurite's well-known account, TableEndpoint = the proxy */
  readonly connectionString: string;
  inject(rule: TableFaultRule): void;
  /** faults answered so far, per error code (or 'reset') */
  answered(): Record<string, number>;
  /** rules not used up yet */
  pending(): number;
  close(): Promise<void>;
}

interface ActiveRule extends TableFaultRule {
  remaining: number;
}

function tableOf(path: string): string {
  const rest = path.replace(new RegExp(`^/${AZURITE_ACCOUNT_NAME}/?`), '');
  return rest.split(/[/(?]/)[0] ?? '';
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function answerFault(fault: Extract<TableFault, { kind: 'status' }>, res: ServerResponse): void {
  const requestId = randomUUID();
  const text = `${fault.message ?? fault.code}\nRequestId:${requestId}\nTime:${new Date().toISOString()}`;
  const body = JSON.stringify({ 'odata.error': { code: fault.code, message: { lang: 'en-US', value: text } } });
  res.writeHead(fault.status, {
    'Content-Type': 'application/json;odata=minimalmetadata;streaming=true;charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
    'x-ms-error-code': fault.code,
    'x-ms-request-id': requestId,
    'x-ms-version': '2019-02-02',
  });
  res.end(body);
}

export async function startTableFaultProxy(options: { target: string; port?: number }): Promise<TableFaultProxy> {
  const target = new URL(options.target);
  const agent = new Agent({ keepAlive: true });
  const rules: ActiveRule[] = [];
  const counts: Record<string, number> = {};
  const sockets = new Set<Socket>();

  function claim(method: string, path: string, text: string): TableFault | undefined {
    const table = tableOf(path);
    const rule = rules.find(
      (r) =>
        r.remaining > 0 &&
        (r.methods === undefined || r.methods.includes(method)) &&
        (r.table === undefined || r.table === table) &&
        (r.contains === undefined || text.includes(r.contains)),
    );
    if (!rule) return undefined;
    rule.remaining -= 1;
    return rule.fault;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const method = (req.method ?? 'GET').toUpperCase();
    const url = req.url ?? '/';
    const path = url.split('?')[0] ?? '/';
    const fault = claim(method, path, `${safeDecode(url)}\n${body.toString('utf8')}`);
    if (fault) {
      const key = fault.kind === 'reset' ? 'reset' : fault.code;
      counts[key] = (counts[key] ?? 0) + 1;
      if (fault.kind === 'reset') {
        req.socket.destroy();
        return;
      }
      answerFault(fault, res);
      return;
    }
    const upstream = httpRequest(
      { host: target.hostname, port: target.port, method, path: url, headers: { ...req.headers, host: target.host }, agent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => req.socket.destroy());
    upstream.end(body);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => req.socket.destroy());
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    port,
    tableEndpoint: `http://127.0.0.1:${port}/${AZURITE_ACCOUNT_NAME}`,
    connectionString: azuriteTablesConnectionString(port),
    inject(rule) {
      rules.push({ ...rule, remaining: rule.times });
    },
    answered: () => ({ ...counts }),
    pending: () => rules.filter((r) => r.remaining > 0).length,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
        agent.destroy();
      });
      return closing;
    },
  };
}
