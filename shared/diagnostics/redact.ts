/** What a redacted value is replaced with. */
export const REDACTED = '***';

// Shapes that carry credentials whatever produced them: form bodies, headers, connection strings,
// SAS query strings, Standard Webhooks secrets and JWTs.
const SECRET_PATTERNS: readonly RegExp[] = [
  /(client_secret|client_assertion|access_token|refresh_token|password)=([^&\s"']+)/gi,
  /(["']?(?:client_?secret|signing_?secret|access_?token|password)["']?\s*[:=]\s*["'])([^"']+)(["'])/gi,
  /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/g,
  /\b(AccountKey|SharedAccessKey|SharedAccessSignature|sig)=([^;&\s"']+)/gi,
  /\bwhsec_[A-Za-z0-9+/=]+/g,
  /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g,
];

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Removes the caller's known secrets (exact values, also URL-encoded) and anything shaped like a
 * credential. Known secrets go first so a secret that happens to look harmless is still caught.
 */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const secret of secrets) {
    if (!secret || secret.length < 4) continue;
    for (const form of new Set([secret, encodeURIComponent(secret)])) {
      out = out.replace(new RegExp(escapeRegExp(form), 'g'), REDACTED);
    }
  }
  out = out.replace(SECRET_PATTERNS[0]!, (_m, key: string) => `${key}=${REDACTED}`);
  out = out.replace(SECRET_PATTERNS[1]!, (_m, head: string, _v: string, tail: string) => `${head}${REDACTED}${tail}`);
  out = out.replace(SECRET_PATTERNS[2]!, (_m, scheme: string) => `${scheme} ${REDACTED}`);
  out = out.replace(SECRET_PATTERNS[3]!, (_m, key: string) => `${key}=${REDACTED}`);
  out = out.replace(SECRET_PATTERNS[4]!, `whsec_${REDACTED}`);
  out = out.replace(SECRET_PATTERNS[5]!, REDACTED);
  return out;
}
