import { PartnerHttpError } from '../diagnostics/domainErrors';
import { extractFacts, parseRetryAfter } from '../diagnostics/facts';
import { badPort, displayUrl } from './endpoint';

const SNIPPET_BYTES = 512;

/**
 * The partner gave no HTTP answer at all (reset, refused, closed). It keeps the Node code (`code`),
 * which the shared DSHTTP001 rule reads: without a status there is nothing for DSWBHK020 to report.
 */
export class PartnerNetworkError extends Error {
  constructor(
    readonly code: string,
    readonly attempts: number,
    cause: unknown,
  ) {
    const detail = (cause as { cause?: { message?: unknown } })?.cause?.message;
    const attemptsText = attempts > 1 ? `, after ${attempts} attempts` : '';
    super(`the partner endpoint gave no HTTP answer (${code}${typeof detail === 'string' && !detail.includes(code) ? `: ${detail}` : ''})${attemptsText}`, { cause });
    this.name = 'PartnerNetworkError';
  }
}

/**
 * The TLS connection to the partner failed before any request was sent: a certificate that does not
 * validate (self-signed, expired, issued for another name, an incomplete chain) or a broken TLS setup.
 * Only the partner can fix it, so it is not a PartnerNetworkError (not retried in the invocation, and
 * not counted by the breaker: the partner is up, as with a permanent 4xx). The webhook rules make it
 * DSWBHK020 with the TLS code.
 */
export class PartnerTlsError extends Error {
  constructor(
    // not `code`: the classifier reads the code and its message where Node put them, in the cause
    readonly tlsCode: string,
    cause: unknown,
  ) {
    const detail = extractFacts(cause).tlsDetail;
    super(`the TLS connection to the partner endpoint failed (${tlsCode}${detail && !detail.includes(tlsCode) ? `: ${detail}` : ''})`, { cause });
    this.name = 'PartnerTlsError';
  }
}

export interface PartnerAnswer {
  status: number;
  statusText: string;
}

export interface PartnerRequest {
  url: URL;
  body: string;
  headers: () => Record<string, string>;
}

/** At most SNIPPET_BYTES of the body, for the row: a partner's error page can be megabytes. */
async function snippet(response: Response): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < SNIPPET_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, SNIPPET_BYTES).toString('utf8');
}

/** Frees the connection for reuse: an unread body would pin it. */
async function discard(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => undefined);
}

function redirectNote(response: Response): string {
  const location = response.headers.get('location');
  return `redirects are not followed${location ? ` (Location: ${displayUrl(location)})` : ''}`;
}

/**
 * One POST to the partner. 2xx is the only success; every other answer becomes a PartnerHttpError
 * carrying what the row needs (3xx included: following a redirect would re-send the signed body to
 * an address nobody configured). `attempt` is 1-based.
 */
export async function postOnce(request: PartnerRequest, attempt: number, signal: AbortSignal): Promise<PartnerAnswer> {
  let response: Response;
  try {
    response = await fetch(request.url, {
      method: 'POST',
      body: request.body,
      headers: { 'content-type': 'application/json', ...request.headers() },
      redirect: 'manual',
      signal,
    });
  } catch (error) {
    const refused = badPort(request.url, error);
    if (refused) throw refused;
    // Aborted = our timeout (the policy reports it); anything else without a TLS or socket code is
    // left as thrown, for a rule to be written.
    if (signal.aborted) throw error;
    const facts = extractFacts(error);
    if (facts.tlsCode !== undefined) throw new PartnerTlsError(facts.tlsCode, error);
    if (facts.networkCode === undefined) throw error;
    throw new PartnerNetworkError(facts.networkCode, attempt, error);
  }
  if (response.status >= 200 && response.status <= 299) {
    await discard(response);
    return { status: response.status, statusText: response.statusText };
  }
  const redirect = response.status >= 300 && response.status <= 399;
  const detail = redirect ? redirectNote(response) : await snippet(response);
  if (redirect) await discard(response);
  const retryAfter = parseRetryAfter(response.headers.get('retry-after') ?? undefined);
  throw new PartnerHttpError(response.status, response.statusText, detail, attempt, retryAfter);
}
