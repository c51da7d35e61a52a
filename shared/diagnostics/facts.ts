import { DomainError } from './domainErrors';

/**
 * What the rules look at: one flat view of any thrown value, whatever SDK threw it. Each SDK hides
 * the useful part somewhere else (DESIGN.md "Real error shapes"), so the digging happens here once.
 */
export interface ErrorFacts {
  /** constructor name or `name` of the outermost error */
  name: string;
  message: string;
  /** every name along the cause chain, outermost first */
  names: string[];
  domain?: DomainError;
  /** AADSTS code from MSAL's cause (errorNo / error_codes) or, failing that, the message */
  aadsts?: number;
  /** HTTP status from a response (GraphError.statusCode, RestError.statusCode, MSAL ServerError.status) */
  httpStatus?: number;
  /** service error code: Graph `code`, Table Storage details.errorCode / code */
  serviceCode?: string;
  /** Node / undici network code (ECONNRESET, ECONNREFUSED, ENOTFOUND, UND_ERR_*) anywhere in the chain */
  networkCode?: string;
  /** TLS or certificate failure code anywhere in the chain (ERR_TLS_*, ERR_SSL_*, CERT_*, DEPTH_ZERO_SELF_SIGNED_CERT …) */
  tlsCode?: string;
  /** the message that came with tlsCode (e.g. "self-signed certificate") */
  tlsDetail?: string;
  /** the error came from the Microsoft Graph client */
  graph: boolean;
  /** the error is Azure core-rest-pipeline's RestError (Table Storage here) */
  restError: boolean;
  /** a timeout: AbortSignal.timeout, cockatiel TaskCancelledError, ETIMEDOUT, OperationTimedOut */
  timeout: boolean;
  /** cockatiel BrokenCircuitError / IsolatedCircuitError */
  brokenCircuit: boolean;
  retryAfterSeconds?: number;
  stack?: string;
}

const NETWORK_CODES = /^(E[A-Z]+|UND_ERR_[A-Z_]+)$/;
// Node's own TLS errors (ERR_TLS_*, and ERR_SSL_* from OpenSSL) and OpenSSL's certificate verification
// results, which Node passes on as `code` without their X509_V_ERR_ prefix. None matches NETWORK_CODES.
const TLS_CODES =
  /^(ERR_TLS_[A-Z0-9_]+|ERR_SSL_[A-Z0-9_]+|CERT_[A-Z0-9_]+|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_[A-Z0-9_]+|ERROR_IN_CERT_[A-Z_]+|INVALID_CA|PATH_LENGTH_EXCEEDED|INVALID_PURPOSE|HOSTNAME_MISMATCH)$/;
const TIMEOUT_CODES = new Set(['TimeoutError', 'ETIMEDOUT', 'ESOCKETTIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

type Bag = Record<string, unknown>;

function isObject(value: unknown): value is Bag {
  return typeof value === 'object' && value !== null;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function num(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return Number(value);
  return undefined;
}

function nameOf(value: unknown): string {
  if (!isObject(value)) return typeof value;
  const own = str(value.name);
  const ctor = (value as { constructor?: { name?: unknown } }).constructor;
  const ctorName = ctor && typeof ctor.name === 'string' && ctor.name !== 'Object' ? ctor.name : undefined;
  // Some SDK errors keep the generic name 'Error' but have a meaningful class (and vice versa).
  if (own && own !== 'Error') return own;
  return ctorName ?? own ?? 'Error';
}

/** Walks `cause`, `innerError`, `originalError` and AggregateError members, bounded against cycles. */
function chain(error: unknown): unknown[] {
  const seen = new Set<unknown>();
  const out: unknown[] = [];
  const queue: unknown[] = [error];
  while (queue.length > 0 && out.length < 16) {
    const current = queue.shift();
    if (current === undefined || current === null || seen.has(current)) continue;
    seen.add(current);
    out.push(current);
    if (!isObject(current)) continue;
    for (const key of ['cause', 'originalError', 'innerError', 'error']) {
      if (isObject(current[key])) queue.push(current[key]);
    }
    if (Array.isArray(current.errors)) queue.push(...current.errors.slice(0, 4));
  }
  return out;
}

const AADSTS_IN_TEXT = /AADSTS(\d{5,8})/;
// @azure/identity's message form: "invalid_client: Error(s): 7000222 - Timestamp: …"
const ERROR_S_IN_TEXT = /Error\(s\):\s*(\d{5,8})\b/;

function aadstsFrom(item: Bag): number | undefined {
  const errorNo = num(item.errorNo);
  if (errorNo !== undefined && errorNo > 0) return errorNo;
  if (Array.isArray(item.error_codes)) return num(item.error_codes[0]);
  const text = `${str(item.message) ?? ''} ${str(item.errorMessage) ?? ''}`;
  const match = AADSTS_IN_TEXT.exec(text) ?? ERROR_S_IN_TEXT.exec(text);
  return match?.[1] ? Number(match[1]) : undefined;
}

function headerValue(headers: unknown, name: string): string | undefined {
  if (!isObject(headers)) return undefined;
  const getter = (headers as { get?: unknown }).get;
  if (typeof getter === 'function') {
    const value: unknown = getter.call(headers, name);
    if (typeof value === 'string') return value;
  }
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name) return Array.isArray(value) ? String(value[0]) : String(value);
  }
  return undefined;
}

/** Retry-After is either delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - now) / 1000));
}

export function extractFacts(error: unknown): ErrorFacts {
  const items = chain(error);
  const outer = items[0];
  const facts: ErrorFacts = {
    name: nameOf(outer),
    message: isObject(outer) ? (str(outer.message) ?? '') : String(outer),
    names: items.map(nameOf),
    graph: false,
    restError: false,
    timeout: false,
    brokenCircuit: false,
    stack: isObject(outer) ? str(outer.stack) : undefined,
  };

  for (const item of items) {
    if (!isObject(item)) continue;
    const name = nameOf(item);
    if (item instanceof DomainError && !facts.domain) facts.domain = item;
    if (name === 'GraphError') facts.graph = true;
    if (name === 'RestError') facts.restError = true;
    if (name === 'BrokenCircuitError' || name === 'IsolatedCircuitError') facts.brokenCircuit = true;
    if (name === 'TaskCancelledError' || name === 'TimeoutError') facts.timeout = true;

    facts.aadsts ??= aadstsFrom(item);

    const status = num(item.statusCode) ?? num(item.status);
    if (facts.httpStatus === undefined && status !== undefined && status >= 100) facts.httpStatus = status;

    const details = isObject(item.details) ? item.details : undefined;
    const code = str(details?.errorCode) ?? str(item.code);
    if (code) {
      if (TLS_CODES.test(code) && facts.tlsCode === undefined) {
        facts.tlsCode = code;
        facts.tlsDetail = str(item.message);
      }
      if (NETWORK_CODES.test(code)) facts.networkCode ??= code;
      else if (facts.serviceCode === undefined && code !== 'TypeError') facts.serviceCode = code;
      if (TIMEOUT_CODES.has(code) || code === 'OperationTimedOut') facts.timeout = true;
    }
    const errno = str(item.errno);
    if (errno && NETWORK_CODES.test(errno)) facts.networkCode ??= errno;

    const retryAfter = parseRetryAfter(
      headerValue(item.headers, 'retry-after') ??
        headerValue(isObject(item.response) ? item.response.headers : undefined, 'retry-after'),
    );
    facts.retryAfterSeconds ??= retryAfter ?? num(item.retryAfterSeconds);
  }
  return facts;
}
