import { MalformedUrlError } from '../diagnostics/domainErrors';
import { REDACTED } from '../diagnostics/redact';

const FIELD = 'webhookUrl';
const MAX_SHOWN = 200;

/** `a=1&token=xyz` → `a=***&token=***`: the names tell an operator what is there, a value may be a token. */
function maskQuery(query: string): string {
  return query
    .split('&')
    .map((part) => {
      const eq = part.indexOf('=');
      if (eq < 0) return part === '' ? '' : REDACTED;
      return `${part.slice(0, eq)}=${REDACTED}`;
    })
    .join('&');
}

/** Whatever ends in `@` within one segment is a user part (`user:password@`, `token@`): masked, the `@` kept. */
function maskUserinfo(text: string): string {
  return text.replace(/[^/\\?#]*@/g, `${REDACTED}@`);
}

/**
 * The same masking by text alone, for a value the URL parser refuses (or one without a host, which it
 * reads as an opaque path: `user:pass@host/x` is scheme `user:`): no shape is trusted to be harmless.
 */
function maskText(value: string): string {
  const hashAt = value.indexOf('#');
  const withoutHash = hashAt < 0 ? value : value.slice(0, hashAt);
  const queryAt = withoutHash.indexOf('?');
  const head = queryAt < 0 ? withoutHash : withoutHash.slice(0, queryAt);
  const query = queryAt < 0 ? '' : `?${maskQuery(withoutHash.slice(queryAt + 1))}`;
  return `${maskUserinfo(head)}${query}${hashAt < 0 ? '' : `#${REDACTED}`}`;
}

/**
 * What an operator sees of a webhook address in a row, a log line or telemetry: partners sometimes put
 * a token in the user part or the query, so the user part and every query value are masked, whether
 * the address parses or not; the scheme, host, port, path and query names are what needs fixing.
 */
export function displayUrl(value: string): string {
  let shown: string;
  try {
    const url = new URL(value);
    if (url.host === '') throw new TypeError('no host');
    const auth = url.username || url.password ? `${REDACTED}@` : '';
    const query = url.search ? `?${maskQuery(url.search.slice(1))}` : '';
    shown = `${url.protocol}//${auth}${url.host}${maskUserinfo(url.pathname)}${query}`;
  } catch {
    shown = maskText(value);
  }
  return shown.length > MAX_SHOWN ? `${shown.slice(0, MAX_SHOWN)}…` : shown;
}

/** The connector's webhook address, checked before any call: empty, malformed or not https is DSWBHK002. */
export function webhookEndpoint(value: string | undefined): URL {
  const raw = (value ?? '').trim();
  const fail = (reason: string) => new MalformedUrlError(FIELD, displayUrl(raw), reason);
  if (raw === '') throw fail('empty');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw fail('not a valid URL');
  }
  if (url.protocol !== 'https:') throw fail('not an https URL');
  // fetch refuses URLs with credentials, and a secret there would be shown wherever the URL is.
  if (url.username || url.password) throw fail('a URL with embedded credentials (the signing secret authenticates deliveries)');
  if (url.hash) url.hash = '';
  return url;
}

/**
 * fetch refuses a list of well-known service ports (25, 6000 …, the Fetch standard's "bad ports")
 * with a bare "bad port": only a call finds out, and it is the address that needs fixing.
 */
export function badPort(url: URL, error: unknown): MalformedUrlError | undefined {
  const cause = (error as { cause?: { message?: unknown } } | null)?.cause;
  return cause?.message === 'bad port' ? new MalformedUrlError(FIELD, displayUrl(url.href), `on port ${url.port}, which HTTP clients refuse to connect to`) : undefined;
}
