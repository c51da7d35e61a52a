import type { ErrorFacts } from '../facts';
import type { DiagnosisContext } from '../types';
import { domainIs, domainMessage, inner, isTransientStatus, type Rule } from './rule';

const ACCESS_DENIED_PREFIX = 'The Azure AD app does not have sufficient permissions to write events to the calendar.';
const USER_NOT_FOUND_CODES = new Set([
  'ErrorInvalidUser',
  'MailboxNotEnabledForRESTAPI',
  'ResourceNotFound',
  'Request_ResourceNotFound',
  'ErrorNonExistentMailbox',
]);

const aadsts =
  (...codes: number[]) =>
  (f: ErrorFacts): boolean =>
    f.aadsts !== undefined && codes.includes(f.aadsts);

const clientIdOf = (ctx: DiagnosisContext): string => ctx.clientId ?? '(unknown)';
const tenantIdOf = (ctx: DiagnosisContext): string => ctx.tenantId ?? '(unknown)';
const resourceOf = (ctx: DiagnosisContext): string =>
  ctx.resource ? `${ctx.resource.name} (${ctx.resource.number})${ctx.resource.email ? ` <${ctx.resource.email}>` : ''}` : 'the resource';

/** Entra's description without its Trace/Correlation/Timestamp tail: that noise defeats grouping. */
function entraDescription(f: ErrorFacts): string {
  const match = /AADSTS\d+:\s*([^\r\n]*?)(?:\s*Trace ID:|\s*Correlation ID:|\s*Timestamp:|\s*-\s*Correlation|$)/.exec(f.message);
  return (match?.[1] ?? '').trim().replace(/\.+$/, '');
}

const isIdentityNetworkFailure = (f: ErrorFacts): boolean =>
  f.names.includes('CredentialUnavailableError') && /endpoints_resolution_error|network/i.test(f.message);

/**
 * @azure/identity reports a token-endpoint outage as AuthenticationRequiredError with no AADSTS code:
 * "temporarily_unavailable: …" after its own retries, "network_error: …" on a reset or per-try
 * timeout, and ": …" (empty error) while MSAL throttles the credential after a 5xx.
 */
const isTokenEndpointOutage = (f: ErrorFacts): boolean =>
  f.names.includes('AuthenticationRequiredError') &&
  f.aadsts === undefined &&
  /^\s*(temporarily_unavailable|network_error|server_error|service_unavailable|request_timeout)?\s*:/.test(f.message);

const isGraphTransient = (f: ErrorFacts): boolean =>
  (f.graph && (isTransientStatus(f.httpStatus) || f.httpStatus === undefined)) ||
  f.timeout ||
  f.networkCode !== undefined ||
  f.serviceCode === 'network_error' ||
  isIdentityNetworkFailure(f) ||
  (f.aadsts === undefined && isTransientStatus(f.httpStatus) && !f.restError);

export const exchangeRules: readonly Rule[] = [
  {
    name: 'exchange.incomplete-credentials',
    code: 'DSEX006',
    when: (f) =>
      domainIs('incomplete-credentials')(f) ||
      (f.names.includes('CredentialUnavailableError') && /(is a|are) required parameters?/.test(f.message)),
    text: (f) => (f.domain ? f.domain.message : 'Incomplete Exchange credentials: Client ID, Client Secret and Tenant ID are all required.'),
  },
  {
    name: 'exchange.tenant-id-invalid-locally',
    code: 'DSEX004',
    when: (f) => domainIs('invalid-tenant-id')(f) || /Invalid tenant id provided/i.test(f.message),
    text: (f, ctx) => (f.domain ? f.domain.message : `The tenant ID '${tenantIdOf(ctx)}' is malformed: it fails validation locally.`),
  },
  {
    name: 'exchange.entra.expired-secret',
    code: 'DSEX001',
    when: aadsts(7000222),
    text: (f, ctx) => `The client secret of client ID '${clientIdOf(ctx)}' has expired (AADSTS7000222). ${entraDescription(f)}`,
  },
  {
    name: 'exchange.entra.invalid-secret',
    code: 'DSEX002',
    when: aadsts(7000215),
    text: (f, ctx) => `The client secret of client ID '${clientIdOf(ctx)}' is invalid (AADSTS7000215, invalid_client). ${entraDescription(f)}`,
  },
  {
    name: 'exchange.entra.unknown-client',
    code: 'DSEX003',
    when: aadsts(700016),
    text: (f, ctx) => `The client ID '${clientIdOf(ctx)}' is unknown in tenant '${tenantIdOf(ctx)}' (AADSTS700016). ${entraDescription(f)}`,
  },
  {
    name: 'exchange.entra.unknown-tenant',
    code: 'DSEX004',
    when: aadsts(90002, 900023),
    text: (f, ctx) => `The tenant ID '${tenantIdOf(ctx)}' is unknown or malformed (AADSTS${f.aadsts}). ${entraDescription(f)}`,
  },
  {
    name: 'exchange.entra.token-endpoint-transient',
    code: 'DSEX040',
    when: (f) => isTokenEndpointOutage(f) || (isTransientStatus(f.httpStatus) && (f.aadsts !== undefined || f.names.includes('AuthenticationRequiredError'))),
    text: (f) => `Transient error from Microsoft Graph: token endpoint ${inner(f)}. Will retry on the next sync attempt.`,
  },
  {
    name: 'exchange.entra.other-rejection',
    code: 'DSEX005',
    when: (f) => f.aadsts !== undefined,
    text: (f, ctx) =>
      `Microsoft Entra ID rejected the credentials of client ID '${clientIdOf(ctx)}' (AADSTS${f.aadsts}). ${entraDescription(f)}`,
  },
  {
    name: 'exchange.integration-disabled',
    code: 'DSEX011',
    when: domainIs('integration-disabled'),
    text: domainMessage,
  },
  {
    name: 'exchange.graph.token-rejected',
    code: 'DSEX010',
    when: (f) => f.graph && f.httpStatus === 401,
    text: (f) => `Microsoft Graph rejected the access token at call time: ${inner(f)}.`,
  },
  {
    name: 'exchange.graph.invalid-user',
    code: 'DSEX012',
    when: (f) => f.graph && f.httpStatus === 404 && f.serviceCode !== undefined && USER_NOT_FOUND_CODES.has(f.serviceCode),
    text: (f, ctx) => `The e-mail address of ${resourceOf(ctx)} is not a mailbox user in the directory: ${inner(f)}.`,
  },
  {
    name: 'exchange.no-mapping-entry',
    code: 'DSEX020',
    when: domainIs('no-mapping-entry'),
    text: domainMessage,
  },
  {
    name: 'exchange.graph.event-already-deleted',
    code: 'DSEX021',
    when: (f, ctx) => f.graph && f.httpStatus === 404 && ctx.operation === 'delete',
    text: (_f, ctx) => `The Exchange event of ${resourceOf(ctx)} was already deleted; nothing to do.`,
  },
  {
    name: 'exchange.graph.event-gone',
    code: 'DSEX020',
    when: (f) => f.graph && f.httpStatus === 404 && f.serviceCode === 'ErrorItemNotFound',
    text: (_f, ctx) => `The mapped Exchange event of ${resourceOf(ctx)} no longer exists in the calendar (ErrorItemNotFound).`,
  },
  {
    name: 'exchange.graph.access-denied',
    code: 'DSEX030',
    when: (f) => f.graph && f.httpStatus === 403,
    text: (f) => `${ACCESS_DENIED_PREFIX} ${inner(f)}.`,
  },
  {
    name: 'exchange.graph.transient',
    code: 'DSEX040',
    when: isGraphTransient,
    text: (f) => `Transient error from Microsoft Graph: ${inner(f)}. Will retry on the next sync attempt.`,
  },
];
