import { describe, expect, it } from 'vitest';
import { diagnose } from '../../../shared/diagnostics/classifier';
import { IntegrationDisabledError, PartnerHttpError, WrongConnectorTypeError } from '../../../shared/diagnostics/domainErrors';
import { MAX_MESSAGE_CHARS, truncate } from '../../../shared/diagnostics/format';
import { parseRetryAfter } from '../../../shared/diagnostics/facts';
import { redact } from '../../../shared/diagnostics/redact';

describe('diagnose: nothing escapes', () => {
  it('turns an unmatched error into DSUNK001 with its verbatim text on the row and its full stack for the log', () => {
    const cause = new Error('inner detail');
    const error = new RangeError('Invalid time value', { cause });
    const d = diagnose(error, { connector: 'exchange' });
    expect(d).toMatchObject({ code: 'DSUNK001', status: 'Failed', retry: 'undiagnosed', rule: 'unmatched' });
    expect(d.message).toBe('[DSUNK001] RangeError: Invalid time value');
    expect(d.stack).toContain('RangeError: Invalid time value');
    expect(d.stack).toContain('at ');
    expect(d.stack).toContain('Caused by: Error: inner detail');
  });

  it.each([
    ['null', null],
    ['undefined', undefined],
    ['a string', 'boom'],
    ['a number', 42],
    ['an empty object', {}],
    ['a cyclic cause chain', (() => { const a: Record<string, unknown> = { message: 'a' }; a.cause = a; return a; })()],
    ['throwing getters', new Proxy({}, { get() { throw new Error('trap'); }, getPrototypeOf() { throw new Error('trap'); } })],
  ])('never throws for %s', (_label, value) => {
    const d = diagnose(value, { connector: 'webhook' });
    expect(d.code).toBe('DSUNK001');
    expect(d.message.startsWith('[DSUNK001] ')).toBe(true);
  });
});

describe('transaction messages', () => {
  it('lists the Resource (No) pairs of DSEX011, or says no resources were assigned', () => {
    const some = diagnose(new IntegrationDisabledError([{ name: 'Jane Doe', number: 'R001' }, { name: 'Van', number: 'R002' }]), { connector: 'exchange' });
    expect(some.message).toBe('[DSEX011] Exchange integration is disabled for Jane Doe (R001), Van (R002)');
    expect(some.status).toBe('Skipped');
    const none = diagnose(new IntegrationDisabledError([]), { connector: 'exchange' });
    expect(none.message).toBe('[DSEX011] No resources were assigned to this appointment');
  });

  it('words DSWBHK020 as the spec does and suppresses the raw text of DSWBHK003', () => {
    const failure = diagnose(new PartnerHttpError(502, '', '', 3), { connector: 'webhook' });
    expect(failure.message).toBe('[DSWBHK020] Status code: 502. (after 3 attempts)');
    const once = diagnose(new PartnerHttpError(422, 'Unprocessable Entity', '{"error":"start is required"}', 1), { connector: 'webhook' });
    expect(once.message).toBe('[DSWBHK020] Status code: 422. Unprocessable Entity: {"error":"start is required"}');
    const wrongType = diagnose(new WrongConnectorTypeError('Webhook', 'Legacy.BcConnector, Internal.Types'), { connector: 'webhook' });
    expect(wrongType.message).toBe('[DSWBHK003] The connector type cannot be cast to Webhook.');
    expect(wrongType.status).toBe('InvalidBackOfficeType');
  });

  it('treats a partner 401/403 as DSCFG008, not as a retried HTTP failure', () => {
    const d = diagnose(new PartnerHttpError(401, 'Unauthorized', 'bad signature', 1), { connector: 'webhook' });
    expect(d).toMatchObject({ code: 'DSCFG008', retry: 'fix-config' });
  });

  it('redacts secrets the caller names and credential shapes it does not', () => {
    const secret = 'Qx8~verySecretValue_123';
    const error = new Error(
      `request failed: client_secret=${encodeURIComponent(secret)}&grant_type=client_credentials Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw also ${secret}`,
    );
    const d = diagnose(error, { connector: 'exchange', secrets: [secret] });
    expect(d.message).not.toContain(secret);
    expect(d.message).not.toContain(encodeURIComponent(secret));
    expect(d.message).not.toContain('eyJhbGciOiJIUzI1NiJ9');
    expect(d.message).not.toContain('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
    expect(d.stack).not.toContain(secret);
    expect(redact('AccountKey=abc123==;TableEndpoint=x')).toBe('AccountKey=***;TableEndpoint=x');
  });

  it('bounds the message so it always fits a Table Storage string property, on a code-point boundary', () => {
    const huge = new Error(`${'😀'.repeat(40_000)}`);
    const d = diagnose(huge);
    expect(d.message.length).toBeLessThanOrEqual(MAX_MESSAGE_CHARS);
    expect(Buffer.byteLength(d.message, 'utf16le')).toBeLessThan(64 * 1024);
    expect(d.message.endsWith(' …')).toBe(true);
    expect(() => encodeURIComponent(d.message)).not.toThrow(); // a lone surrogate would throw URIError
    expect(truncate('ab😀cd', 5)).toBe('ab …');
  });

  it('keeps messages on one line', () => {
    const d = diagnose(new Error('first line\r\nsecond\tline\u0000end'));
    expect(d.message).toBe('[DSUNK001] Error: first line second\tline end');
  });
});

describe('Retry-After', () => {
  it('reads delta-seconds and HTTP dates', () => {
    expect(parseRetryAfter('7')).toBe(7);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(10);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});
