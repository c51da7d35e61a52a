import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppOptions, AppRecord, EntraOptions, TenantOptions, TokenFault } from './entra';
import { EntraDirectory } from './entra';
import type { ChaosOptions, FaultMatch } from './faults';
import type { GraphEvent, GraphFault, MailboxOptions, MailboxStats } from './graph';
import { GraphCalendars } from './graph';
import { sendJson, startLoopbackHttps } from './http';
import type { RequestLogEntry, RetryAfterObservation } from './requestLog';
import { RequestLog } from './requestLog';

export type { AppOptions, AppRecord, EntraOptions, TenantOptions, TokenFault } from './entra';
export type { ChaosOptions, FaultMatch } from './faults';
export type { GraphEvent, GraphFault, MailboxOptions, MailboxStats } from './graph';
export type { RequestLogEntry, RetryAfterObservation } from './requestLog';

export interface EntraGraphSimulatorOptions extends EntraOptions {
  port?: number;
  /** Per-mailbox concurrency beyond which Graph answers 429 (Outlook: 4). Off when undefined. */
  mailboxConcurrencyLimit?: number;
}

export interface EntraGraphSimulator {
  /** https://127.0.0.1:<port> — use as authorityHost, and as the Graph origin. */
  readonly url: string;
  readonly port: number;
  /** `${url}/` — the Graph client's baseUrl (the client appends /v1.0 itself). */
  readonly graphBaseUrl: string;
  /** Host name for the Graph client's `customHosts` (it attaches Authorization only to known hosts). */
  readonly graphHost: string;

  // Entra
  addTenant(options: TenantOptions): void;
  addApp(options: AppOptions): AppRecord;
  updateApp(tenantId: string, clientId: string, changes: Partial<Omit<AppOptions, 'tenantId' | 'clientId'>>): AppRecord;
  /** Mints a Graph token without going through the token endpoint. */
  issueToken(tenantId: string, clientId: string): { accessToken: string; expiresOn: number };
  revokeTokens(filter?: { clientId?: string }): void;
  /** The next `times` token requests (of one client id, or any) get `fault`. times: Infinity = until cleared. */
  failTokenRequests(fault: TokenFault, options?: { clientId?: string; times?: number }): void;
  tokenChaos(options: ChaosOptions<TokenFault> & { clientId?: string }): void;
  /** Token endpoint POSTs, any outcome. */
  tokenRequests(clientId?: string): number;
  tokensIssued(clientId?: string): number;
  discoveryRequests(): number;

  // Graph
  addMailbox(upn: string, options?: MailboxOptions): { upn: string; id: string };
  updateMailbox(upn: string, changes: Omit<MailboxOptions, 'id'>): void;
  /** The next `times` Graph requests (to one mailbox, or any) get `fault`. */
  injectGraphFault(fault: GraphFault, options?: { mailbox?: string; times?: number } & FaultMatch): void;
  graphChaos(options: ChaosOptions<GraphFault> & { mailbox?: string }): void;
  setLatency(ms: number, mailbox?: string): void;
  setMailboxConcurrencyLimit(limit: number | undefined, retryAfterSeconds?: number): void;
  /** Drops queued faults and chaos (token and Graph). */
  clearFaults(): void;
  pendingGraphFaults(mailbox?: string): number;

  // Observability
  events(upn: string): GraphEvent[];
  mailboxStats(upn: string): MailboxStats;
  /** Sums over all mailboxes; inFlight/maxInFlight are global. */
  graphTotals(): MailboxStats;
  maxInFlightPerMailbox(): number;
  requests(filter?: { service?: RequestLogEntry['service']; mailbox?: string }): RequestLogEntry[];
  retryAfterObservations(mailbox?: string): RetryAfterObservation[];
  /** Clears the request log and counters (not apps, mailboxes or events). */
  resetStats(): void;

  /** Destroys every socket (hung requests included) and stops listening. */
  close(): Promise<void>;
}

export async function startEntraGraphSimulator(options: EntraGraphSimulatorOptions = {}): Promise<EntraGraphSimulator> {
  const log = new RequestLog();
  let origin = '';
  const entra = new EntraDirectory(() => origin, log, options);
  const graph = new GraphCalendars(() => origin, entra, log);
  if (options.mailboxConcurrencyLimit !== undefined) graph.setMailboxConcurrencyLimit(options.mailboxConcurrencyLimit);

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const path = new URL(req.url ?? '/', 'https://localhost').pathname;
    void (async () => {
      if (await graph.handle(req, res, path)) return;
      if (await entra.handle(req, res, path)) return;
      const entry = log.start({ service: 'other', method: req.method ?? 'GET', path });
      Object.assign(entry, { status: 404, outcome: 'answered', finishedAt: entry.receivedAt });
      sendJson(res, 404, { error: 'not_found', error_description: `The Entra/Graph simulator does not serve ${req.method} ${path}` });
    })().catch((err: unknown) => {
      // A bug in the simulator must show up as a 500 in the test, not as an unhandled rejection.
      sendJson(res, 500, { error: { code: 'SimulatorBug', message: String(err instanceof Error ? err.stack : err) } });
    });
  };

  const server = await startLoopbackHttps(handler, options.port ?? 0);
  origin = server.url;

  return {
    url: server.url,
    port: server.port,
    graphBaseUrl: `${server.url}/`,
    graphHost: '127.0.0.1',
    addTenant: (o) => entra.addTenant(o),
    addApp: (o) => entra.addApp(o),
    updateApp: (t, c, ch) => entra.updateApp(t, c, ch),
    issueToken: (t, c) => entra.issueToken(t, c),
    revokeTokens: (f) => entra.revokeTokens(f),
    failTokenRequests: (fault, o = {}) =>
      entra.faults.enqueue(fault, { ...(o.clientId === undefined ? {} : { scope: o.clientId.toLowerCase() }), times: o.times ?? 1 }),
    tokenChaos: ({ clientId, ...chaos }) => entra.faults.setChaos({ ...chaos, ...(clientId === undefined ? {} : { scope: clientId.toLowerCase() }) }),
    tokenRequests: (c) => entra.tokenRequests(c),
    tokensIssued: (c) => entra.tokensIssued(c),
    discoveryRequests: () => entra.discoveryRequestCount(),
    addMailbox: (upn, o) => graph.addMailbox(upn, o),
    updateMailbox: (upn, ch) => graph.updateMailbox(upn, ch),
    injectGraphFault: (fault, o = {}) =>
      graph.faults.enqueue(fault, {
        ...(o.mailbox === undefined ? {} : { scope: o.mailbox.toLowerCase() }),
        times: o.times ?? 1,
        ...(o.method === undefined ? {} : { method: o.method }),
      }),
    graphChaos: ({ mailbox, ...chaos }) => graph.faults.setChaos({ ...chaos, ...(mailbox === undefined ? {} : { scope: mailbox.toLowerCase() }) }),
    setLatency: (ms, mailbox) => graph.setLatency(ms, mailbox),
    setMailboxConcurrencyLimit: (limit, ra) => graph.setMailboxConcurrencyLimit(limit, ra),
    clearFaults: () => {
      entra.faults.clear();
      graph.faults.clear();
    },
    pendingGraphFaults: (mailbox) => graph.faults.pending(mailbox?.toLowerCase()),
    events: (upn) => graph.events(upn),
    mailboxStats: (upn) => graph.mailboxStats(upn),
    graphTotals: () => graph.totals(),
    maxInFlightPerMailbox: () => graph.maxInFlightPerMailbox(),
    requests: (f) => log.list(f),
    retryAfterObservations: (mailbox) => log.retryAfterObservations(mailbox),
    resetStats: () => {
      log.clear();
      entra.resetCounters();
      graph.resetStats();
    },
    close: async () => {
      graph.dispose();
      await server.close();
    },
  };
}
