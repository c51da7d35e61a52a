import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EntraDirectory } from './entra';
import { FaultPlan } from './faults';
import { graphDate, header, newGuid, readBody, resetConnection, sendJson } from './http';
import type { RequestLog, RequestLogEntry } from './requestLog';
import { nowMs } from './requestLog';

/** What a Graph request can be told to get instead of its normal answer. */
export type GraphFault =
  /** 429 ApplicationThrottled with Retry-After (seconds, default 1). */
  | { kind: 'throttle'; retryAfterSeconds?: number; message?: string }
  /** 503; Outlook's body is usually {code:"UnknownError", message:""}. */
  | { kind: 'unavailable'; retryAfterSeconds?: number; code?: string; message?: string }
  /** 504 from the Graph gateway. */
  | { kind: 'gatewayTimeout'; code?: string; message?: string }
  /** 401 InvalidAuthenticationToken even though the token is fine. */
  | { kind: 'unauthorized'; message?: string }
  /** Any other Graph error. */
  | { kind: 'error'; status: number; code: string; message: string; retryAfterSeconds?: number }
  /** Socket destroyed (TCP RST) without an answer. */
  | { kind: 'reset' }
  /** Never answered; the socket stays open until the client gives up or the simulator closes. */
  | { kind: 'hang' }
  /** Answered normally, `ms` late. */
  | { kind: 'delay'; ms: number }
  /** Processed (an event is created or changed) but the answer is lost: the connection is reset instead. */
  | { kind: 'lostAnswer' };

export interface MailboxOptions {
  /** When set, only tokens of this tenant see the user (others get ErrorInvalidUser). */
  tenantId?: string;
  /** Object id usable instead of the UPN in /users/{id}. Generated when absent. */
  id?: string;
  /** false: a user without an Exchange Online mailbox (404 MailboxNotEnabledForRESTAPI). */
  mailboxEnabled?: boolean;
  /** true: an application access policy excludes this mailbox (403 ErrorAccessDenied). */
  accessDenied?: boolean;
}

export type GraphEvent = Record<string, unknown> & { id: string };

export interface MailboxStats {
  /** POST /events that reached the calendar (deduped ones included). */
  createRequests: number;
  /** Events actually created. */
  eventsCreated: number;
  /** Creates answered with an existing event because the transactionId was already used. */
  dedupedCreates: number;
  updates: number;
  deletes: number;
  reads: number;
  /** Requests of any kind currently being processed or hanging. */
  inFlight: number;
  /** Highest inFlight seen. */
  maxInFlight: number;
  /** 429s sent (injected or by the concurrency limit). */
  throttled: number;
}

interface Mailbox {
  upn: string;
  id: string;
  tenantId: string | undefined;
  mailboxEnabled: boolean;
  accessDenied: boolean;
  events: Map<string, GraphEvent>;
  /** transactionId → event id */
  transactions: Map<string, string>;
}

interface Route {
  user: string;
  me: boolean;
  eventId: string | undefined;
  collection: 'events';
}

const READ_ONLY = new Set(['id', 'createdDateTime', 'lastModifiedDateTime', 'changeKey', '@odata.etag', '@odata.context', 'iCalUId', 'webLink', 'transactionId']);

function emptyStats(): MailboxStats {
  return { createRequests: 0, eventsCreated: 0, dedupedCreates: 0, updates: 0, deletes: 0, reads: 0, inFlight: 0, maxInFlight: 0, throttled: 0 };
}

function eventId(): string {
  // Outlook ids are long, URL-safe base64 with '=' padding; the padding catches clients that do not encode ids.
  return `AAMkAG${randomBytes(66).toString('base64url')}=`;
}

function parseRoute(path: string): Route | 'unsupported' | undefined {
  if (!path.startsWith('/v1.0/')) return undefined;
  const segments = path.slice('/v1.0/'.length).split('/').filter((s) => s !== '');
  let decoded: string[];
  try {
    decoded = segments.map((s) => decodeURIComponent(s));
  } catch {
    return 'unsupported';
  }
  let rest: string[];
  let user = '';
  let me = false;
  if (decoded[0] === 'me') {
    me = true;
    rest = decoded.slice(1);
  } else if (decoded[0] === 'users' && decoded[1] !== undefined) {
    user = decoded[1];
    rest = decoded.slice(2);
  } else {
    return 'unsupported';
  }
  if (rest[0] === 'calendar') rest = rest.slice(1);
  if (rest[0] !== 'events' || rest.length > 2) return 'unsupported';
  return { user, me, eventId: rest[1], collection: 'events' };
}

export class GraphCalendars {
  readonly faults = new FaultPlan<GraphFault>();
  private readonly mailboxes = new Map<string, Mailbox>(); // lower-case UPN
  private readonly ids = new Map<string, string>(); // lower-case object id → lower-case UPN
  private readonly stats = new Map<string, MailboxStats>(); // lower-case UPN (or user segment when unknown)
  private readonly latency = new Map<string, number>();
  private globalInFlight = 0;
  private globalMaxInFlight = 0;
  private concurrencyLimit: number | undefined;
  private concurrencyRetryAfterSeconds = 1;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly releases = new WeakMap<RequestLogEntry, () => void>();

  constructor(
    private readonly origin: () => string,
    private readonly entra: EntraDirectory,
    private readonly log: RequestLog,
  ) {}

  addMailbox(upn: string, options: MailboxOptions = {}): { upn: string; id: string } {
    const key = upn.toLowerCase();
    const id = options.id ?? newGuid();
    const existing = this.mailboxes.get(key);
    this.mailboxes.set(key, {
      upn,
      id,
      tenantId: options.tenantId,
      mailboxEnabled: options.mailboxEnabled ?? true,
      accessDenied: options.accessDenied ?? false,
      events: existing?.events ?? new Map(),
      transactions: existing?.transactions ?? new Map(),
    });
    this.ids.set(id.toLowerCase(), key);
    return { upn, id };
  }

  updateMailbox(upn: string, changes: Omit<MailboxOptions, 'id'>): void {
    const mailbox = this.mailboxes.get(upn.toLowerCase());
    if (!mailbox) throw new Error(`unknown mailbox ${upn}`);
    if (changes.tenantId !== undefined) mailbox.tenantId = changes.tenantId;
    if (changes.mailboxEnabled !== undefined) mailbox.mailboxEnabled = changes.mailboxEnabled;
    if (changes.accessDenied !== undefined) mailbox.accessDenied = changes.accessDenied;
  }

  events(upn: string): GraphEvent[] {
    const mailbox = this.mailboxes.get(upn.toLowerCase());
    return mailbox ? [...mailbox.events.values()].map((e) => structuredClone(e)) : [];
  }

  mailboxStats(upn: string): MailboxStats {
    return { ...(this.stats.get(upn.toLowerCase()) ?? emptyStats()) };
  }

  /** Totals over every mailbox; inFlight/maxInFlight are across all mailboxes at once. */
  totals(): MailboxStats {
    const total = emptyStats();
    for (const s of this.stats.values()) {
      total.createRequests += s.createRequests;
      total.eventsCreated += s.eventsCreated;
      total.dedupedCreates += s.dedupedCreates;
      total.updates += s.updates;
      total.deletes += s.deletes;
      total.reads += s.reads;
      total.throttled += s.throttled;
    }
    total.inFlight = this.globalInFlight;
    total.maxInFlight = this.globalMaxInFlight;
    return total;
  }

  /** Highest per-mailbox concurrency seen in any single mailbox. */
  maxInFlightPerMailbox(): number {
    let max = 0;
    for (const s of this.stats.values()) max = Math.max(max, s.maxInFlight);
    return max;
  }

  resetStats(): void {
    for (const [key, s] of this.stats) {
      this.stats.set(key, { ...emptyStats(), inFlight: s.inFlight, maxInFlight: s.inFlight });
    }
    this.globalMaxInFlight = this.globalInFlight;
  }

  /** Every request (to one mailbox, or to all) is processed `ms` late; 0 removes it. */
  setLatency(ms: number, mailbox?: string): void {
    const key = mailbox?.toLowerCase() ?? '';
    if (ms > 0) this.latency.set(key, ms);
    else this.latency.delete(key);
  }

  /**
   * Outlook's MailboxConcurrency limit: beyond `limit` requests in flight for one mailbox, answer
   * 429 ApplicationThrottled. Off by default so tests measure a client's own concurrency unhindered.
   */
  setMailboxConcurrencyLimit(limit: number | undefined, retryAfterSeconds = 1): void {
    this.concurrencyLimit = limit;
    this.concurrencyRetryAfterSeconds = retryAfterSeconds;
  }

  /** Pending latency timers would keep the process alive after close(). */
  dispose(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  async handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> {
    const route = parseRoute(path);
    if (route === undefined) return false;
    const method = (req.method ?? 'GET').toUpperCase();
    if (route === 'unsupported') {
      const entry = this.log.start({ service: 'graph', method, path });
      const segment = path.split('/').filter(Boolean)[1] ?? '';
      this.sendError(req, res, entry, 400, 'BadRequest', `Resource not found for the segment '${segment}'.`);
      return true;
    }
    const statsKey = route.me ? 'me' : this.mailboxKey(route.user);
    const entry = this.log.start({ service: 'graph', method, path, mailbox: statsKey });
    const stats = this.stats.get(statsKey) ?? emptyStats();
    this.stats.set(statsKey, stats);
    stats.inFlight++;
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
    this.globalInFlight++;
    this.globalMaxInFlight = Math.max(this.globalMaxInFlight, this.globalInFlight);
    // Released when the answer is written (not on 'close', which can fire after the client already
    // has the response), or when the socket goes away for hangs, resets and aborts.
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      stats.inFlight--;
      this.globalInFlight--;
    };
    this.releases.set(entry, release);
    res.on('close', () => {
      release();
      if (entry.outcome === 'pending' || entry.outcome === 'hang') {
        entry.finishedAt ??= nowMs();
        if (entry.outcome === 'pending') entry.outcome = 'aborted';
      }
    });

    const raw = method === 'POST' || method === 'PATCH' ? await readBody(req) : Buffer.alloc(0);
    const delay = this.latency.get(statsKey) ?? this.latency.get('');
    if (delay) await this.sleep(delay);
    if (res.destroyed) return true;

    const fault = this.faults.take(statsKey, method);
    if (fault) {
      entry.fault = fault.kind;
      if (fault.kind === 'delay') {
        await this.sleep(fault.ms);
        if (res.destroyed) return true;
      } else if (fault.kind === 'lostAnswer') {
        res.writeHead = (() => res) as unknown as typeof res.writeHead;
        res.end = (() => res) as unknown as typeof res.end;
        this.serve(req, res, entry, stats, route, method, raw);
        entry.outcome = 'reset';
        resetConnection(req);
        return true;
      } else {
        this.applyFault(req, res, entry, stats, fault);
        return true;
      }
    }
    this.serve(req, res, entry, stats, route, method, raw);
    return true;
  }

  private serve(req: IncomingMessage, res: ServerResponse, entry: RequestLogEntry, stats: MailboxStats, route: Route, method: string, raw: Buffer): void {
    const auth = header(req, 'authorization') ?? '';
    const bearer = /^Bearer\s+(.*)$/i.exec(auth)?.[1]?.trim() ?? '';
    if (!bearer) return this.unauthorized(req, res, entry, 'Access token is empty.');
    if (bearer.split('.').length !== 3) {
      return this.unauthorized(req, res, entry, 'IDX14100: JWT is not well formed, there are no dots (.).');
    }
    const token = this.entra.lookupToken(bearer);
    if (!token || token.revoked) return this.unauthorized(req, res, entry, 'Invalid signature');
    if (token.expiresAt <= Date.now()) return this.unauthorized(req, res, entry, 'Lifetime validation failed, the token is expired.');
    entry.clientId = token.clientId;
    entry.tenantId = token.tenantId;

    if (route.me) {
      return this.sendError(req, res, entry, 400, 'BadRequest', '/me request is only valid with delegated authentication flow.');
    }
    if (!this.entra.graphAllowed(token.tenantId, token.clientId)) {
      return this.sendError(req, res, entry, 403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.');
    }
    const mailbox = this.mailboxes.get(this.mailboxKey(route.user));
    if (!mailbox || (mailbox.tenantId !== undefined && mailbox.tenantId.toLowerCase() !== token.tenantId.toLowerCase())) {
      return this.sendError(req, res, entry, 404, 'ErrorInvalidUser', `The requested user '${route.user}' is invalid.`);
    }
    if (mailbox.accessDenied) {
      return this.sendError(req, res, entry, 403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.');
    }
    if (!mailbox.mailboxEnabled) {
      return this.sendError(req, res, entry, 404, 'MailboxNotEnabledForRESTAPI', 'The mailbox is either inactive, soft-deleted, or is hosted on-premise.');
    }
    if (this.concurrencyLimit !== undefined && stats.inFlight > this.concurrencyLimit) {
      stats.throttled++;
      return this.sendError(req, res, entry, 429, 'ApplicationThrottled', 'Application is over its MailboxConcurrency limit.', {
        retryAfterSeconds: this.concurrencyRetryAfterSeconds,
      });
    }

    let body: Record<string, unknown> = {};
    if (raw.length > 0) {
      try {
        const parsed: unknown = JSON.parse(raw.toString('utf8'));
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
        body = parsed as Record<string, unknown>;
      } catch {
        return this.sendError(req, res, entry, 400, 'BadRequest', 'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.');
      }
    }

    if (route.eventId === undefined) {
      if (method === 'POST') return this.create(req, res, entry, stats, mailbox, body);
      if (method === 'GET') {
        stats.reads++;
        return this.ok(req, res, entry, 200, {
          '@odata.context': `https://graph.microsoft.com/v1.0/$metadata#users('${encodeURIComponent(mailbox.upn)}')/events`,
          value: [...mailbox.events.values()],
        });
      }
      return this.sendError(req, res, entry, 405, 'ErrorInvalidRequest', 'The OData request is not supported.');
    }

    const existing = mailbox.events.get(route.eventId);
    if (!existing) {
      return this.sendError(req, res, entry, 404, 'ErrorItemNotFound', 'The specified object was not found in the store.');
    }
    switch (method) {
      case 'GET':
        stats.reads++;
        return this.ok(req, res, entry, 200, existing);
      case 'PATCH': {
        stats.updates++;
        for (const [k, v] of Object.entries(body)) if (!READ_ONLY.has(k)) existing[k] = v;
        this.touch(existing);
        return this.ok(req, res, entry, 200, existing);
      }
      case 'DELETE':
        stats.deletes++;
        mailbox.events.delete(route.eventId);
        this.finish(entry, 204);
        res.writeHead(204, this.graphHeaders(req));
        res.end();
        return;
      default:
        return this.sendError(req, res, entry, 405, 'ErrorInvalidRequest', 'The OData request is not supported.');
    }
  }

  private create(req: IncomingMessage, res: ServerResponse, entry: RequestLogEntry, stats: MailboxStats, mailbox: Mailbox, body: Record<string, unknown>): void {
    stats.createRequests++;
    const transactionId = typeof body['transactionId'] === 'string' ? body['transactionId'] : undefined;
    if (transactionId !== undefined) entry.transactionId = transactionId;
    if (transactionId !== undefined) {
      const knownId = mailbox.transactions.get(transactionId);
      const known = knownId === undefined ? undefined : mailbox.events.get(knownId);
      // Graph's retry guard: the same transactionId on the same mailbox returns the first event.
      if (known) {
        stats.dedupedCreates++;
        return this.ok(req, res, entry, 201, known, { Location: this.location(mailbox, known.id) });
      }
    }
    const id = eventId();
    const now = new Date().toISOString().replace(/Z$/, '0000Z');
    const event: GraphEvent = {
      '@odata.context': `https://graph.microsoft.com/v1.0/$metadata#users('${encodeURIComponent(mailbox.upn)}')/events/$entity`,
      '@odata.etag': '',
      id,
      createdDateTime: now,
      lastModifiedDateTime: now,
      changeKey: '',
      categories: [],
      transactionId: transactionId ?? null,
      originalStartTimeZone: 'UTC',
      originalEndTimeZone: 'UTC',
      iCalUId: `040000008200E00074C5B7101A82E008${randomBytes(28).toString('hex').toUpperCase()}`,
      reminderMinutesBeforeStart: 15,
      isReminderOn: true,
      hasAttachments: false,
      subject: '',
      bodyPreview: '',
      importance: 'normal',
      sensitivity: 'normal',
      isAllDay: false,
      isCancelled: false,
      isOrganizer: true,
      responseRequested: true,
      showAs: 'busy',
      type: 'singleInstance',
      webLink: `https://outlook.office365.com/owa/?itemid=${encodeURIComponent(id)}&exvsurl=1&path=/calendar/item`,
      body: { contentType: 'html', content: '' },
      location: { displayName: '', locationType: 'default', uniqueIdType: 'unknown' },
      attendees: [],
      organizer: { emailAddress: { name: mailbox.upn, address: mailbox.upn } },
    };
    for (const [k, v] of Object.entries(body)) if (!READ_ONLY.has(k)) event[k] = v;
    if (typeof event['body'] === 'object' && event['body'] !== null) {
      const content = (event['body'] as { content?: unknown }).content;
      event['bodyPreview'] = typeof content === 'string' ? content.replace(/<[^>]*>/g, '').slice(0, 255) : '';
    }
    this.touch(event, false);
    mailbox.events.set(id, event);
    if (transactionId !== undefined) mailbox.transactions.set(transactionId, id);
    stats.eventsCreated++;
    this.ok(req, res, entry, 201, event, { Location: this.location(mailbox, id) });
  }

  private touch(event: GraphEvent, modified = true): void {
    const changeKey = randomBytes(12).toString('base64');
    event['changeKey'] = changeKey;
    event['@odata.etag'] = `W/"${changeKey}"`;
    if (modified) event['lastModifiedDateTime'] = new Date().toISOString().replace(/Z$/, '0000Z');
  }

  private location(mailbox: Mailbox, id: string): string {
    return `${this.origin()}/v1.0/users('${encodeURIComponent(mailbox.upn)}')/events('${id}')`;
  }

  private applyFault(req: IncomingMessage, res: ServerResponse, entry: RequestLogEntry, stats: MailboxStats, fault: Exclude<GraphFault, { kind: 'delay' | 'lostAnswer' }>): void {
    switch (fault.kind) {
      case 'throttle':
        stats.throttled++;
        return this.sendError(req, res, entry, 429, 'ApplicationThrottled', fault.message ?? 'Application is over its MailboxConcurrency limit.', {
          retryAfterSeconds: fault.retryAfterSeconds ?? 1,
        });
      case 'unavailable':
        return this.sendError(req, res, entry, 503, fault.code ?? 'UnknownError', fault.message ?? '', fault.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: fault.retryAfterSeconds });
      case 'gatewayTimeout':
        return this.sendError(req, res, entry, 504, fault.code ?? 'UnknownError', fault.message ?? '');
      case 'unauthorized':
        return this.unauthorized(req, res, entry, fault.message ?? 'Lifetime validation failed, the token is expired.');
      case 'error':
        if (fault.status === 429) stats.throttled++;
        return this.sendError(req, res, entry, fault.status, fault.code, fault.message, fault.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: fault.retryAfterSeconds });
      case 'reset':
        entry.outcome = 'reset';
        entry.finishedAt = nowMs();
        this.releases.get(entry)?.();
        resetConnection(req);
        return;
      case 'hang':
        // Left open on purpose; the 'close' listener stamps finishedAt when the client gives up.
        entry.outcome = 'hang';
        return;
    }
  }

  private unauthorized(req: IncomingMessage, res: ServerResponse, entry: RequestLogEntry, message: string): void {
    this.sendError(req, res, entry, 401, 'InvalidAuthenticationToken', message, {
      headers: {
        'WWW-Authenticate': 'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"',
      },
    });
  }

  private sendError(
    req: IncomingMessage,
    res: ServerResponse,
    entry: RequestLogEntry,
    status: number,
    code: string,
    message: string,
    extra: { retryAfterSeconds?: number; headers?: Record<string, string> } = {},
  ): void {
    const headers = { ...this.graphHeaders(req), ...extra.headers };
    if (extra.retryAfterSeconds !== undefined) {
      headers['Retry-After'] = String(extra.retryAfterSeconds);
      entry.retryAfterSeconds = extra.retryAfterSeconds;
    }
    entry.errorCode = code;
    this.finish(entry, status);
    sendJson(
      res,
      status,
      {
        error: {
          code,
          message,
          innerError: { date: graphDate(), 'request-id': headers['request-id'], 'client-request-id': headers['client-request-id'] },
        },
      },
      headers,
    );
  }

  private ok(req: IncomingMessage, res: ServerResponse, entry: RequestLogEntry, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const etag = (body as { '@odata.etag'?: unknown })['@odata.etag'];
    this.finish(entry, status);
    sendJson(res, status, body, {
      ...this.graphHeaders(req),
      'OData-Version': '4.0',
      ...(typeof etag === 'string' && etag ? { ETag: etag } : {}),
      ...headers,
    });
  }

  private graphHeaders(req: IncomingMessage): Record<string, string> {
    const requestId = newGuid();
    return {
      'Cache-Control': 'private',
      'request-id': requestId,
      'client-request-id': header(req, 'client-request-id') ?? requestId,
      'x-ms-ags-diagnostic': '{"ServerInfo":{"DataCenter":"Simulator","Slice":"E","Ring":"0","ScaleUnit":"000","RoleInstance":"SIM0001"}}',
      'Strict-Transport-Security': 'max-age=31536000',
    };
  }

  private finish(entry: RequestLogEntry, status: number): void {
    entry.status = status;
    entry.outcome = 'answered';
    entry.finishedAt = nowMs();
    this.releases.get(entry)?.();
  }

  private mailboxKey(user: string): string {
    const lower = user.toLowerCase();
    return this.ids.get(lower) ?? lower;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }
}
