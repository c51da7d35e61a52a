import { MalformedUrlError } from '../diagnostics/domainErrors';

const FIELD = 'webhookUrl';
const MAX_SHOWN = 200;

/**
 * What an operator sees of a webhook address in a row: partners sometimes put a token in the query or
 * the user part, so both are masked; the host and path are what needs fixing anyway.
 */
export function displayUrl(value: string): string {
  try {
    const url = new URL(value);
    const auth = url.username || url.password ? '***@' : '';
    const query = url.search ? '?***' : '';
    return `${url.protocol}//${auth}${url.host}${url.pathname}${query}`;
  } catch {
    return value.length > MAX_SHOWN ? `${value.slice(0, MAX_SHOWN)}…` : value;
  }
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
