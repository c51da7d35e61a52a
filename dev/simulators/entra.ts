import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FaultPlan } from './faults';
import { entraTimestamp, header, newGuid, readBody, resetConnection, sendJson } from './http';
import type { RequestLog, RequestLogEntry } from './requestLog';
import { nowMs } from './requestLog';

/** What the token endpoint can be told to do instead of its normal answer. */
export type TokenFault =
  /** An Entra rejection with this AADSTS code (error string, status and text default from the table below). */
  | { kind: 'aadsts'; code: number; error?: string; status?: number; description?: string }
  /** A bare HTTP status, e.g. 500/503 (Entra outage); the body is Entra-shaped unless given. */
  | { kind: 'status'; status: number; retryAfterSeconds?: number; body?: unknown }
  | { kind: 'reset' }
  | { kind: 'hang' };

export interface TenantOptions {
  tenantId: string;
  /** Verified domains that also resolve to this tenant, e.g. contoso.onmicrosoft.com. */
  domains?: string[];
  /** false: every app of this tenant gets 403 ErrorAccessDenied from Graph (admin consent missing). */
  graphPermission?: boolean;
}

export interface AppOptions {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  /** The secret matches but has expired (AADSTS7000222). */
  secretExpired?: boolean;
  /** The service principal is disabled (AADSTS7000112). */
  disabled?: boolean;
  displayName?: string;
  /** false: tokens are issued, but Graph answers 403 ErrorAccessDenied (no Calendars.ReadWrite consent). */
  graphPermission?: boolean;
}

export interface AppRecord extends Required<Omit<AppOptions, 'displayName'>> {
  displayName: string;
}

export interface IssuedToken {
  tenantId: string;
  clientId: string;
  issuedAt: number;
  expiresAt: number;
  revoked: boolean;
}

export interface EntraOptions {
  /**
   * 'lenient' (default): discovery metadata is served for any tenant path, so tenant errors
   * (AADSTS90002, 900023) surface at the token endpoint. That is what production does: MSAL has
   * hardcoded metadata for login.microsoftonline.com and never asks it, whereas for any other
   * authorityHost it must. 'strict': discovery answers 400 AADSTS90002 / 900023 like the real
   * endpoint (MSAL then fails with endpoints_resolution_error and the AADSTS code is lost).
   */
  discovery?: 'lenient' | 'strict';
  /** Entra's `error` for AADSTS90002 varies in the field between these two; pick one. */
  unknownTenantError?: 'invalid_tenant' | 'invalid_request';
  /** expires_in of issued tokens (Entra: 3599). */
  tokenLifetimeSeconds?: number;
}

interface AadstsContext {
  tenant: string;
  clientId: string;
  appName: string;
  scope: string;
  resource: string;
}

interface AadstsDefinition {
  error: string;
  status: number;
  text: (c: AadstsContext) => string;
}

/** Wording and status as Entra sends them (status: 401 for invalid_client, else 400). */
const AADSTS: Record<number, AadstsDefinition> = {
  90002: {
    error: 'invalid_tenant',
    status: 400,
    text: (c) =>
      `Tenant '${c.tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
  },
  900023: {
    error: 'invalid_request',
    status: 400,
    text: (c) => `Specified tenant identifier '${c.tenant}' is neither a valid DNS name, nor a valid external domain.`,
  },
  700016: {
    error: 'unauthorized_client',
    status: 400,
    text: (c) =>
      `Application with identifier '${c.clientId}' was not found in the directory '${c.tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
  },
  7000215: {
    error: 'invalid_client',
    status: 401,
    text: (c) =>
      `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${c.clientId}'.`,
  },
  7000222: {
    error: 'invalid_client',
    status: 401,
    text: (c) =>
      `The provided client secret keys for app '${c.clientId}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.`,
  },
  7000218: {
    error: 'invalid_client',
    status: 401,
    text: () => `The request body must contain the following parameter: 'client_assertion' or 'client_secret'.`,
  },
  7000112: {
    error: 'unauthorized_client',
    status: 400,
    text: (c) => `Application '${c.clientId}'(${c.appName}) is disabled.`,
  },
  50034: {
    error: 'invalid_grant',
    status: 400,
    text: (c) => `The user account ${c.clientId} does not exist in the ${c.tenant} directory. To sign into this application, the account must be added to the directory.`,
  },
  53003: {
    error: 'invalid_grant',
    status: 400,
    text: () => `Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.`,
  },
  900144: {
    error: 'invalid_request',
    status: 400,
    text: (c) => `The request body must contain the following parameter: '${c.scope}'.`,
  },
  70003: {
    error: 'unsupported_grant_type',
    status: 400,
    text: () => `The app requested an unsupported grant type.`,
  },
  1002012: {
    error: 'invalid_scope',
    status: 400,
    text: (c) =>
      `The provided value for scope ${c.scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
  },
  500011: {
    error: 'invalid_resource',
    status: 400,
    text: (c) =>
      `The resource principal named ${c.resource} was not found in the tenant named ${c.tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
  },
};

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DNS_NAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;
const GRAPH_RESOURCES = new Set(['https://graph.microsoft.com', '00000003-0000-0000-c000-000000000000']);
const OIDC_SCOPES = new Set(['openid', 'profile', 'offline_access', 'email']);

function b64url(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
}

export class EntraDirectory {
  readonly faults = new FaultPlan<TokenFault>();
  private readonly tenants = new Map<string, TenantOptions>(); // key: lower-case tenant id
  private readonly domains = new Map<string, string>(); // lower-case domain → tenant id
  private readonly apps = new Map<string, AppRecord>(); // `${tenantId}|${clientId}` lower-case
  private readonly tokens = new Map<string, IssuedToken>();
  private readonly requestsByClient = new Map<string, number>();
  private readonly issuedByClient = new Map<string, number>();
  private discoveryRequests = 0;
  private readonly options: Required<EntraOptions>;

  constructor(
    private readonly origin: () => string,
    private readonly log: RequestLog,
    options: EntraOptions = {},
  ) {
    this.options = {
      discovery: options.discovery ?? 'lenient',
      unknownTenantError: options.unknownTenantError ?? 'invalid_tenant',
      tokenLifetimeSeconds: options.tokenLifetimeSeconds ?? 3599,
    };
  }

  /** Registers a tenant, or updates it (domains are added, graphPermission replaced when given). */
  addTenant(options: TenantOptions): void {
    if (!GUID.test(options.tenantId)) throw new Error(`tenantId must be a GUID: ${options.tenantId}`);
    const existing = this.tenants.get(options.tenantId.toLowerCase());
    const domains = [...(existing?.domains ?? []), ...(options.domains ?? [])];
    const graphPermission = options.graphPermission ?? existing?.graphPermission ?? true;
    this.tenants.set(options.tenantId.toLowerCase(), { tenantId: options.tenantId, domains, graphPermission });
    for (const domain of domains) this.domains.set(domain.toLowerCase(), options.tenantId.toLowerCase());
  }

  /** Whether Graph should serve this app at all (app and tenant consent). */
  graphAllowed(tenantId: string, clientId: string): boolean {
    const tenant = this.tenants.get(tenantId.toLowerCase());
    const app = this.apps.get(this.appKey(tenantId, clientId));
    return (tenant?.graphPermission ?? true) && (app?.graphPermission ?? true);
  }

  addApp(options: AppOptions): AppRecord {
    if (!this.tenants.has(options.tenantId.toLowerCase())) this.addTenant({ tenantId: options.tenantId });
    const record: AppRecord = {
      tenantId: options.tenantId,
      clientId: options.clientId,
      clientSecret: options.clientSecret,
      secretExpired: options.secretExpired ?? false,
      disabled: options.disabled ?? false,
      displayName: options.displayName ?? `app-${options.clientId.slice(0, 8)}`,
      graphPermission: options.graphPermission ?? true,
    };
    this.apps.set(this.appKey(options.tenantId, options.clientId), record);
    return record;
  }

  /** Changes flags of a registered app (rotate a secret, expire it, revoke consent...). */
  updateApp(tenantId: string, clientId: string, changes: Partial<Omit<AppOptions, 'tenantId' | 'clientId'>>): AppRecord {
    const app = this.apps.get(this.appKey(tenantId, clientId));
    if (!app) throw new Error(`unknown app ${clientId} in tenant ${tenantId}`);
    Object.assign(app, Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined)));
    return app;
  }

  app(tenantId: string, clientId: string): AppRecord | undefined {
    return this.apps.get(this.appKey(tenantId, clientId));
  }

  /** Mints a token without a round trip (for Graph-only tests). */
  issueToken(tenantId: string, clientId: string): { accessToken: string; expiresOn: number } {
    const now = Date.now();
    const expiresAt = now + this.options.tokenLifetimeSeconds * 1000;
    const claims = {
      aud: 'https://graph.microsoft.com',
      iss: `https://sts.windows.net/${tenantId}/`,
      iat: Math.floor(now / 1000),
      nbf: Math.floor(now / 1000),
      exp: Math.floor(expiresAt / 1000),
      appid: clientId,
      tid: tenantId,
      roles: ['Calendars.ReadWrite'],
      uti: randomBytes(16).toString('base64url'),
    };
    // JWT-shaped so code that peeks at the token does not choke; the signature is meaningless.
    const accessToken = `${b64url({ typ: 'JWT', alg: 'RS256', kid: 'simulator' })}.${b64url(claims)}.${randomBytes(32).toString('base64url')}`;
    this.tokens.set(accessToken, { tenantId, clientId, issuedAt: now, expiresAt, revoked: false });
    return { accessToken, expiresOn: expiresAt };
  }

  lookupToken(accessToken: string): IssuedToken | undefined {
    return this.tokens.get(accessToken);
  }

  /** Every token issued so far becomes invalid at Graph (401), e.g. to test token refresh. */
  revokeTokens(filter: { clientId?: string } = {}): void {
    for (const token of this.tokens.values()) {
      if (filter.clientId === undefined || token.clientId.toLowerCase() === filter.clientId.toLowerCase()) token.revoked = true;
    }
  }

  /** Token endpoint POSTs (any outcome), for one client id or in total. */
  tokenRequests(clientId?: string): number {
    if (clientId !== undefined) return this.requestsByClient.get(clientId.toLowerCase()) ?? 0;
    let sum = 0;
    for (const n of this.requestsByClient.values()) sum += n;
    return sum;
  }

  /** Tokens actually issued, for one client id or in total. */
  tokensIssued(clientId?: string): number {
    if (clientId !== undefined) return this.issuedByClient.get(clientId.toLowerCase()) ?? 0;
    let sum = 0;
    for (const n of this.issuedByClient.values()) sum += n;
    return sum;
  }

  discoveryRequestCount(): number {
    return this.discoveryRequests;
  }

  resetCounters(): void {
    this.requestsByClient.clear();
    this.issuedByClient.clear();
    this.discoveryRequests = 0;
  }

  /** Returns false when the path is not an Entra endpoint. */
  async handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> {
    const method = req.method ?? 'GET';
    let match = /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/.exec(path);
    if (match && method === 'GET') {
      this.discoveryRequests++;
      const entry = this.log.start({ service: 'entra', method, path });
      this.discovery(req, res, decodeURIComponent(match[1] ?? ''), entry);
      return true;
    }
    match = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(path);
    if (match && method === 'POST') {
      await this.token(req, res, decodeURIComponent(match[1] ?? ''));
      return true;
    }
    if (method === 'GET' && path === '/common/discovery/instance') {
      // Only reached if a client forgets disableInstanceDiscovery; answer with this host as its own alias.
      const host = new URL(this.origin()).host;
      sendJson(res, 200, {
        tenant_discovery_endpoint: `${this.origin()}/common/v2.0/.well-known/openid-configuration`,
        'api-version': '1.1',
        metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
      });
      return true;
    }
    match = /^\/([^/]+)\/discovery\/v2\.0\/keys$/.exec(path);
    if (match && method === 'GET') {
      sendJson(res, 200, { keys: [] });
      return true;
    }
    return false;
  }

  private appKey(tenantId: string, clientId: string): string {
    return `${tenantId.toLowerCase()}|${clientId.toLowerCase()}`;
  }

  private resolveTenant(tenant: string): { kind: 'ok'; tenantId: string } | { kind: 'malformed' } | { kind: 'unknown' } {
    if (GUID.test(tenant)) {
      const record = this.tenants.get(tenant.toLowerCase());
      return record ? { kind: 'ok', tenantId: record.tenantId } : { kind: 'unknown' };
    }
    if (DNS_NAME.test(tenant)) {
      const id = this.domains.get(tenant.toLowerCase());
      const record = id === undefined ? undefined : this.tenants.get(id);
      return record ? { kind: 'ok', tenantId: record.tenantId } : { kind: 'unknown' };
    }
    return { kind: 'malformed' };
  }

  private discovery(req: IncomingMessage, res: ServerResponse, tenant: string, entry: RequestLogEntry): void {
    const resolved = this.resolveTenant(tenant);
    if (this.options.discovery === 'strict' && resolved.kind !== 'ok') {
      const ctx = this.context(tenant, '', '');
      this.sendAadsts(req, res, entry, resolved.kind === 'malformed' ? 900023 : 90002, ctx);
      return;
    }
    const t = resolved.kind === 'ok' ? resolved.tenantId : tenant;
    const o = this.origin();
    this.finish(entry, 200);
    sendJson(res, 200, {
      token_endpoint: `${o}/${t}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${o}/${t}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: `${o}/${t}/v2.0`,
      request_uri_parameter_supported: false,
      userinfo_endpoint: 'https://graph.microsoft.com/oidc/userinfo',
      authorization_endpoint: `${o}/${t}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${o}/${t}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${o}/${t}/oauth2/v2.0/logout`,
      claims_supported: ['sub', 'iss', 'cloud_instance_name', 'cloud_instance_host_name', 'cloud_graph_host_name', 'msgraph_host', 'aud', 'exp', 'iat', 'auth_time', 'acr', 'nonce', 'preferred_username', 'name', 'tid', 'ver', 'at_hash', 'c_hash', 'email'],
      kerberos_endpoint: `${o}/${t}/kerberos`,
      tenant_region_scope: 'EU',
      cloud_instance_name: 'microsoftonline.com',
      cloud_graph_host_name: 'graph.windows.net',
      msgraph_host: 'graph.microsoft.com',
      rbac_url: 'https://pas.windows.net',
    });
  }

  private async token(req: IncomingMessage, res: ServerResponse, tenant: string): Promise<void> {
    const form = new URLSearchParams((await readBody(req)).toString('utf8'));
    let clientId = form.get('client_id') ?? '';
    let secret = form.get('client_secret');
    const basic = /^Basic\s+(.+)$/i.exec(header(req, 'authorization') ?? '');
    if (basic?.[1]) {
      // client_secret_basic: both parts are form-urlencoded inside the base64 (RFC 6749 §2.3.1).
      const [id, pwd] = Buffer.from(basic[1], 'base64').toString('utf8').split(':');
      clientId ||= decodeURIComponent(id ?? '');
      secret ??= decodeURIComponent(pwd ?? '');
    }
    const key = clientId.toLowerCase();
    this.requestsByClient.set(key, (this.requestsByClient.get(key) ?? 0) + 1);
    const entry = this.log.start({ service: 'entra', method: 'POST', path: `/${tenant}/oauth2/v2.0/token`, clientId });
    const scope = form.get('scope') ?? '';
    const ctx = this.context(tenant, clientId, scope);

    const fault = this.faults.take(key, 'POST');
    if (fault) {
      entry.fault = fault.kind;
      this.applyTokenFault(req, res, entry, fault, ctx);
      return;
    }

    const resolved = this.resolveTenant(tenant);
    if (resolved.kind === 'malformed') return this.sendAadsts(req, res, entry, 900023, ctx);
    if (resolved.kind === 'unknown') return this.sendAadsts(req, res, entry, 90002, ctx);
    entry.tenantId = resolved.tenantId;
    const grantType = form.get('grant_type');
    if (!grantType) return this.sendAadsts(req, res, entry, 900144, { ...ctx, scope: 'grant_type' });
    if (grantType !== 'client_credentials') return this.sendAadsts(req, res, entry, 70003, ctx);
    if (!clientId) return this.sendAadsts(req, res, entry, 900144, { ...ctx, scope: 'client_id' });
    const app = this.apps.get(this.appKey(resolved.tenantId, clientId));
    if (!app) return this.sendAadsts(req, res, entry, 700016, ctx);
    ctx.appName = app.displayName;
    if (app.disabled) return this.sendAadsts(req, res, entry, 7000112, ctx);
    if (!secret) return this.sendAadsts(req, res, entry, 7000218, ctx);
    if (secret !== app.clientSecret) return this.sendAadsts(req, res, entry, 7000215, ctx);
    if (app.secretExpired) return this.sendAadsts(req, res, entry, 7000222, ctx);
    const scopes = scope.split(/\s+/).filter((s) => s && !OIDC_SCOPES.has(s));
    const only = scopes.length === 1 ? scopes[0] : undefined;
    if (!only || !only.endsWith('/.default')) return this.sendAadsts(req, res, entry, 1002012, ctx);
    const resource = only.slice(0, -'/.default'.length).replace(/\/$/, '');
    if (!GRAPH_RESOURCES.has(resource.toLowerCase())) return this.sendAadsts(req, res, entry, 500011, { ...ctx, resource });

    const { accessToken } = this.issueToken(app.tenantId, app.clientId);
    this.issuedByClient.set(key, (this.issuedByClient.get(key) ?? 0) + 1);
    this.finish(entry, 200);
    sendJson(
      res,
      200,
      {
        token_type: 'Bearer',
        expires_in: this.options.tokenLifetimeSeconds,
        ext_expires_in: this.options.tokenLifetimeSeconds,
        access_token: accessToken,
      },
      this.entraHeaders(req, newGuid()),
    );
  }

  private context(tenant: string, clientId: string, scope: string): AadstsContext {
    return { tenant, clientId, appName: clientId, scope, resource: '' };
  }

  private applyTokenFault(req: IncomingMessage, res: ServerResponse, entry: RequestLogEntry, fault: TokenFault, ctx: AadstsContext): void {
    switch (fault.kind) {
      case 'aadsts':
        this.sendAadsts(req, res, entry, fault.code, ctx, fault);
        return;
      case 'status': {
        const traceId = newGuid();
        const headers = this.entraHeaders(req, traceId);
        if (fault.retryAfterSeconds !== undefined) {
          headers['Retry-After'] = String(fault.retryAfterSeconds);
          entry.retryAfterSeconds = fault.retryAfterSeconds;
        }
        this.finish(entry, fault.status);
        sendJson(res, fault.status, fault.body ?? this.errorBody(req, traceId, 'temporarily_unavailable', 0, 'The service is temporarily unavailable.'), headers);
        return;
      }
      case 'reset':
        entry.outcome = 'reset';
        entry.finishedAt = nowMs();
        resetConnection(req);
        return;
      case 'hang':
        entry.outcome = 'hang';
        res.on('close', () => (entry.finishedAt ??= nowMs()));
        return;
    }
  }

  private sendAadsts(
    req: IncomingMessage,
    res: ServerResponse,
    entry: RequestLogEntry,
    code: number,
    ctx: AadstsContext,
    override: { error?: string; status?: number; description?: string } = {},
  ): void {
    const known = AADSTS[code];
    let error = override.error ?? known?.error ?? 'invalid_request';
    if (code === 90002 && override.error === undefined) error = this.options.unknownTenantError;
    const status = override.status ?? known?.status ?? (error === 'invalid_client' ? 401 : 400);
    const text = override.description ?? known?.text(ctx) ?? `Error forced by the Entra simulator.`;
    const traceId = newGuid();
    entry.errorCode = `AADSTS${code}`;
    this.finish(entry, status);
    sendJson(res, status, this.errorBody(req, traceId, error, code, text), this.entraHeaders(req, traceId));
  }

  private errorBody(req: IncomingMessage, traceId: string, error: string, code: number, text: string): Record<string, unknown> {
    const correlationId = header(req, 'client-request-id') ?? newGuid();
    const timestamp = entraTimestamp();
    const prefix = code ? `AADSTS${code}: ` : '';
    return {
      error,
      // Entra separates the trailer lines with CRLF.
      error_description: `${prefix}${text}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${timestamp}`,
      error_codes: code ? [code] : [],
      timestamp,
      trace_id: traceId,
      correlation_id: correlationId,
      ...(code ? { error_uri: `https://login.microsoftonline.com/error?code=${code}` } : {}),
    };
  }

  private entraHeaders(req: IncomingMessage, traceId: string): Record<string, string> {
    return {
      'Cache-Control': 'no-store, no-cache',
      Pragma: 'no-cache',
      'x-ms-request-id': traceId,
      'client-request-id': header(req, 'client-request-id') ?? newGuid(),
      'x-ms-ests-server': '2.1.19999.0 - simulator',
    };
  }

  private finish(entry: RequestLogEntry, status: number): void {
    entry.status = status;
    entry.outcome = 'answered';
    entry.finishedAt = nowMs();
  }
}
