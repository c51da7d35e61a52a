import { describe, expect, it } from 'vitest';
import { verifyStandardWebhook } from '../../../dev/simulators/partner';
import { diagnose } from '../../../shared/diagnostics/classifier';
import { UnreadableCredentialsError } from '../../../shared/diagnostics/domainErrors';
import { sign, signedHeaders, signingKey, webhookId, WEBHOOK_HEADERS } from '../../../shared/webhook/signing';

describe('Standard Webhooks signing', () => {
  it("reproduces the spec's published vector", () => {
    const key = signingKey('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
    expect(sign(key, 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}')).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('accepts the key with or without its whsec_ prefix', () => {
    expect(signingKey('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')).toEqual(signingKey('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'));
  });

  it.each([
    ['too short', 'whsec_c2hvcnQ='],
    ['not base64', 'whsec_this is not base64 at all!!'],
    ['empty', ''],
    ['too long', `whsec_${Buffer.alloc(65, 1).toString('base64')}`],
  ])('refuses a secret that is %s as unreadable credentials (DSCFG006), never quoting it', (_label, secret) => {
    const error = (() => {
      try {
        signingKey(secret);
      } catch (e) {
        return e;
      }
      throw new Error('expected a failure');
    })();
    expect(error).toBeInstanceOf(UnreadableCredentialsError);
    const diagnosis = diagnose(error, { connector: 'webhook', secrets: [secret] });
    expect(diagnosis.code).toBe('DSCFG006');
    if (secret) expect(diagnosis.message).not.toContain(secret);
  });

  it('signs headers a partner verifies with an independent implementation', () => {
    const secret = `whsec_${Buffer.alloc(32, 5).toString('base64')}`;
    const body = '{"type":"appointment.created"}';
    const headers = signedHeaders(signingKey(secret), 'msg_abc', body, 1_700_000_000_123);
    expect(headers[WEBHOOK_HEADERS.timestamp]).toBe('1700000000');
    const check = verifyStandardWebhook(secret, { id: headers['webhook-id'], timestamp: headers['webhook-timestamp'], signature: headers['webhook-signature'] }, body, { nowSeconds: 1_700_000_000 });
    expect(check).toEqual({ valid: true });
  });
});

describe('webhook-id', () => {
  it('is the same for every attempt of one transaction, and differs across transactions and tenants', () => {
    expect(webhookId('contoso', 'm-1')).toBe(webhookId('contoso', 'm-1'));
    expect(webhookId('contoso', 'm-1')).not.toBe(webhookId('contoso', 'm-2'));
    expect(webhookId('fabrikam', 'm-1')).not.toBe(webhookId('contoso', 'm-1'));
  });

  it('is header-safe and fixed-length whatever the transaction id holds', () => {
    for (const transactionId of ['m-1', 'ä/ö?#\n\u0000 space', 'x'.repeat(500)]) {
      expect(webhookId('contoso', transactionId)).toMatch(/^msg_[A-Za-z0-9_-]{24}$/);
    }
  });
});
