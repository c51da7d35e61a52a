import type { AccessToken, TokenCredential } from '@azure/identity';

const GRAPH_CLOUD_HOSTS = new Set(['graph.microsoft.com', 'graph.microsoft.us', 'dod-graph.microsoft.us', 'microsoftgraph.chinacloudapi.cn']);

/** The token audience is the Graph cloud's origin; any other host (a simulator, a proxy) stands in for public Graph. */
export function graphScope(graphBaseUrl: string): string {
  const url = new URL(graphBaseUrl);
  return GRAPH_CLOUD_HOSTS.has(url.hostname) ? `${url.origin}/.default` : 'https://graph.microsoft.com/.default';
}

/** MSAL's own default: a cached token is refreshed once less than this is left of it. */
const TOKEN_REFRESH_MARGIN_MS = 5 * 60_000;

export interface CredentialKey {
  tenantId: string;
  connectorId: string;
  configVersion: number;
}

export interface ExchangeCredentials {
  entraTenantId: string;
  clientId: string;
  clientSecret: string;
  authorityHost: string;
}

/**
 * One ClientSecretCredential per connector and config version: MSAL caches its token inside it, so
 * a warm instance asks Entra for a token about once an hour per connector, not once per message.
 */
export class CredentialCache {
  private readonly credentials = new Map<string, TokenCredential>();
  /** token requests under way: messages arriving together on a cold instance share one */
  private readonly pending = new Map<string, Promise<AccessToken | null>>();
  /** the last token per connector, config version and scope, until MSAL itself would refresh it */
  private readonly tokens = new Map<string, { token: string; refreshAt: number }>();

  constructor(
    private readonly requestTimeoutMs: number,
    private readonly maxEntries = 500,
  ) {}

  credential(key: CredentialKey, creds: ExchangeCredentials): TokenCredential {
    const id = `${key.tenantId}|${key.connectorId}|${key.configVersion}`;
    let credential = this.credentials.get(id);
    if (!credential) {
      if (this.credentials.size >= this.maxEntries) this.credentials.delete(this.credentials.keys().next().value!);
      // Loaded on first use: @azure/identity (with MSAL) is the heaviest require of the app's start-up.
      const { ClientSecretCredential } = require('@azure/identity') as typeof import('@azure/identity');
      credential = new ClientSecretCredential(creds.entraTenantId, creds.clientId, creds.clientSecret, {
        authorityHost: creds.authorityHost,
        // The simulator and national clouds are not in Microsoft's instance-discovery list.
        disableInstanceDiscovery: true,
        // getToken ignores abort signals and timeouts; a per-retry policy is what bounds each attempt.
        additionalPolicies: [
          {
            position: 'perRetry',
            policy: {
              name: 'tokenRequestTimeout',
              sendRequest: (request, next) => {
                request.timeout = this.requestTimeoutMs;
                return next(request);
              },
            },
          },
        ],
      });
      this.credentials.set(id, credential);
    }
    return credential;
  }

  async token(key: CredentialKey, creds: ExchangeCredentials, graphBaseUrl: string): Promise<string> {
    // MSAL's cache answers once a token is in it, but callers that ask before the first answer
    // each go to Entra: coalesce them, so a burst on a cold instance costs one token request.
    const scope = graphScope(graphBaseUrl);
    const id = `${key.tenantId}|${key.connectorId}|${key.configVersion}|${scope}`;
    // MSAL would answer from its cache too, but through identity's tracing and MSAL's cache lookup:
    // ~0.25 ms of CPU on every message (docs/performance.md). The same token, kept until the time
    // MSAL refreshes it (its refreshAfter hint, else 5 minutes before it expires), costs nothing.
    const cached = this.tokens.get(id);
    if (cached && Date.now() < cached.refreshAt) return cached.token;
    let request = this.pending.get(id);
    if (!request) {
      request = this.credential(key, creds)
        .getToken(scope)
        .finally(() => this.pending.delete(id));
      this.pending.set(id, request);
    }
    const token = await request;
    if (!token?.token) throw new Error('Microsoft Entra ID returned no access token.');
    if (!this.tokens.has(id) && this.tokens.size >= this.maxEntries) this.tokens.delete(this.tokens.keys().next().value!);
    this.tokens.set(id, { token: token.token, refreshAt: token.refreshAfterTimestamp ?? token.expiresOnTimestamp - TOKEN_REFRESH_MARGIN_MS });
    return token.token;
  }
}
