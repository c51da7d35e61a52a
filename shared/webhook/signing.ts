import { createHash, createHmac } from 'node:crypto';
import { UnreadableCredentialsError } from '../diagnostics/domainErrors';

/** Standard Webhooks (https://www.standardwebhooks.com): the three headers every delivery carries. */
export const WEBHOOK_HEADERS = { id: 'webhook-id', timestamp: 'webhook-timestamp', signature: 'webhook-signature' } as const;

const SECRET_PREFIX = 'whsec_';
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
// The spec's bounds for a signing key; shorter keys are guessable, longer ones are a pasting accident.
const MIN_KEY_BYTES = 24;
const MAX_KEY_BYTES = 64;

/**
 * The HMAC key of a `whsec_<base64>` secret (the prefix is optional, as in the reference libraries).
 * A value that is not such a key is unreadable credentials (DSCFG006): it cannot sign anything a
 * partner could verify, and the reason never repeats the value.
 */
export function signingKey(secret: string): Buffer {
  const encoded = secret.trim().startsWith(SECRET_PREFIX) ? secret.trim().slice(SECRET_PREFIX.length) : secret.trim();
  const bytes = BASE64.test(encoded) ? Buffer.from(encoded, 'base64') : Buffer.alloc(0);
  if (bytes.length < MIN_KEY_BYTES || bytes.length > MAX_KEY_BYTES) {
    throw new UnreadableCredentialsError(`the signing secret is not a whsec_ base64 key of ${MIN_KEY_BYTES} to ${MAX_KEY_BYTES} bytes`);
  }
  return bytes;
}

/** `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`: the body exactly as sent. */
export function sign(key: Buffer, id: string, timestamp: number, body: string): string {
  const mac = createHmac('sha256', key).update(`${id}.${timestamp}.`, 'utf8').update(body, 'utf8');
  return `v1,${mac.digest('base64')}`;
}

/**
 * The webhook-id is what partners deduplicate on, so it must be the same for every retry, Service Bus
 * redelivery and operator or timer replay of one message: it is derived from the transaction id (which
 * all of those share) and the tenant (transaction ids are only unique per tenant). Hashing keeps it
 * fixed-length and header-safe whatever characters a sender put in its message id, and does not hand
 * partners our internal ids.
 */
export function webhookId(tenantId: string, transactionId: string): string {
  const digest = createHash('sha256').update(`${tenantId}\u0000${transactionId}`, 'utf8').digest('base64url');
  return `msg_${digest.slice(0, 24)}`;
}

/** Signed per attempt: the timestamp is when this attempt was sent, so partners can reject stale replays of the bytes. */
export function signedHeaders(key: Buffer, id: string, body: string, nowMs: number): Record<string, string> {
  const timestamp = Math.floor(nowMs / 1000);
  return {
    [WEBHOOK_HEADERS.id]: id,
    [WEBHOOK_HEADERS.timestamp]: String(timestamp),
    [WEBHOOK_HEADERS.signature]: sign(key, id, timestamp, body),
  };
}
