import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPartnerSimulator, type PartnerSimulator } from '../../../dev/simulators/partner';
import { untrustedTlsOptions } from '../../../dev/simulators/partnerTls';
import { diagnose } from '../../../shared/diagnostics/classifier';
import { deliveryPolicy, isTransient } from '../../../shared/webhook/deliveryPolicy';
import { PartnerNetworkError, PartnerTlsError, postOnce } from '../../../shared/webhook/partnerCall';
import { countsAgainstPartner } from '../../../shared/webhook/webhookDeliverer';

/** What undici's fetch throws when the TLS connection fails: a bare TypeError, the reason in `cause`. */
const fetchFailed = (code: string, message: string) => new TypeError('fetch failed', { cause: Object.assign(new Error(message), { code }) });

const TLS_FAILURES: Array<[string, string]> = [
  ['DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'],
  ['SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain'],
  ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate'],
  ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'unable to get local issuer certificate'],
  ['CERT_HAS_EXPIRED', 'certificate has expired'],
  ['ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames: Host: hooks.partner.example. is not in the cert's altnames: DNS:other.example"],
  ['ERR_SSL_WRONG_VERSION_NUMBER', 'C0E7F2B6:error:0A00010B:SSL routines:ssl3_get_record:wrong version number'],
];

describe('a partner TLS failure', () => {
  it.each(TLS_FAILURES)('%s is DSWBHK020 with the TLS code on the row, not retried in the invocation, not counted by the breaker', (code, message) => {
    const error = new PartnerTlsError(code, fetchFailed(code, message));
    const diagnosis = diagnose(error, { connector: 'webhook' });
    expect(diagnosis).toMatchObject({ code: 'DSWBHK020', status: 'Failed', retry: 'retried', rule: 'webhook.partner-tls-failure' });
    expect(diagnosis.message).toMatch(/^\[DSWBHK020\] The TLS connection to the partner endpoint failed: /);
    expect(diagnosis.message).toContain(`failed: ${code}`);
    expect(isTransient(error)).toBe(false);
    expect(countsAgainstPartner(error)).toBe(false);
  });

  it('also when it reaches the classifier as fetch threw it', () => {
    expect(diagnose(fetchFailed('CERT_HAS_EXPIRED', 'certificate has expired'), { connector: 'webhook' })).toMatchObject({
      code: 'DSWBHK020',
      message: '[DSWBHK020] The TLS connection to the partner endpoint failed: CERT_HAS_EXPIRED (certificate has expired). The partner must fix its certificate or TLS setup; the request was not sent.',
    });
  });

  it('leaves connection failures as they were: DSHTTP001, retried', () => {
    const reset = new PartnerNetworkError('ECONNRESET', 3, fetchFailed('ECONNRESET', 'read ECONNRESET'));
    expect(diagnose(reset, { connector: 'webhook' }).code).toBe('DSHTTP001');
    expect(isTransient(reset)).toBe(true);
  });
});

describe('postOnce against a real TLS server on loopback whose certificate does not validate', () => {
  let sim: PartnerSimulator;
  beforeAll(async () => {
    sim = await startPartnerSimulator({ tls: untrustedTlsOptions() });
  });
  afterAll(async () => {
    await sim?.close();
  });

  it('throws PartnerTlsError with the TLS code, and the delivery policy makes one attempt only', async () => {
    const request = { url: new URL(`${sim.url}/hooks/t`), body: '{}', headers: () => ({}) };
    const error = await postOnce(request, 1, new AbortController().signal).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PartnerTlsError);
    expect(error).toMatchObject({ tlsCode: 'DEPTH_ZERO_SELF_SIGNED_CERT', message: 'the TLS connection to the partner endpoint failed (DEPTH_ZERO_SELF_SIGNED_CERT: self-signed certificate)' });

    const before = sim.connections();
    const policy = deliveryPolicy({ attemptTimeoutMs: 2_000, maxAttempts: 3, baseDelayMs: 10, budgetMs: 10_000 });
    await expect(policy.execute(({ attempt, signal }) => postOnce(request, attempt + 1, signal))).rejects.toBeInstanceOf(PartnerTlsError);
    expect(sim.connections() - before).toBe(1);
    expect(sim.deliveries()).toHaveLength(0); // nothing was sent over it
  });
});
