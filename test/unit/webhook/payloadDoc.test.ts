import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { signedHeaders, signingKey } from '../../../shared/webhook/signing';

/**
 * docs/webhook-payload.md is what partners copy from: its verification snippet and its signed example
 * must stay true to what the connector sends, so both are checked against the product's signer.
 */
const doc = readFileSync(resolve(__dirname, '../../../docs/webhook-payload.md'), 'utf8');
const VECTOR_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

type Verify = (secret: string, headers: Record<string, string | undefined>, rawBody: Buffer, nowSeconds?: number) => boolean;

function block(language: string, after = ''): string {
  const from = doc.indexOf(after);
  const match = new RegExp('```' + language + '\\n([\\s\\S]*?)```').exec(doc.slice(from));
  if (!match) throw new Error(`no ${language} block after '${after}' in docs/webhook-payload.md`);
  return match[1]!;
}

async function documentedVerifier(): Promise<Verify> {
  const file = join(mkdtempSync(join(tmpdir(), 'webhook-doc-')), 'verify.mjs');
  writeFileSync(file, block('js', '## Verifying the signature'));
  return ((await import(pathToFileURL(file).href)) as { verifyWebhook: Verify }).verifyWebhook;
}

describe('docs/webhook-payload.md', () => {
  it("its Node verifier accepts the spec's vector and the connector's own signature, and refuses a changed body or a stale timestamp", async () => {
    const verify = await documentedVerifier();
    const vector = { 'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek', 'webhook-timestamp': '1614265330', 'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=' };
    expect(verify(VECTOR_SECRET, vector, Buffer.from('{"test": 2432232314}'), 1614265330)).toBe(true);
    expect(verify(VECTOR_SECRET, vector, Buffer.from('{"test": 2432232315}'), 1614265330)).toBe(false);
    expect(verify(VECTOR_SECRET, vector, Buffer.from('{"test": 2432232314}'), 1614265330 + 301)).toBe(false);

    const secret = `whsec_${Buffer.alloc(32, 3).toString('base64')}`;
    const body = '{"type":"appointment.created","data":{"subject":"Café"}}';
    const headers = signedHeaders(signingKey(secret), 'msg_doc', body, Date.now());
    expect(verify(secret, headers, Buffer.from(body, 'utf8'))).toBe(true);
  });

  it('its example request carries the headers the connector would send for the documented body', () => {
    const request = block('http', '## The request');
    const header = (name: string) => new RegExp(`^${name}: (.+)$`, 'm').exec(request)?.[1];
    const body = JSON.stringify(JSON.parse(block('json', '### Body: create or update')));
    const signed = signedHeaders(signingKey(VECTOR_SECRET), header('webhook-id')!, body, Number(header('webhook-timestamp')) * 1000);
    expect(header('webhook-signature')).toBe(signed['webhook-signature']);
  });
});
