import { describe, expect, it } from 'vitest';
import { diagnose } from '../../../shared/diagnostics/classifier';
import { MalformedUrlError } from '../../../shared/diagnostics/domainErrors';
import { displayUrl, webhookEndpoint } from '../../../shared/webhook/endpoint';

function refusal(value: string | undefined): MalformedUrlError {
  try {
    webhookEndpoint(value);
  } catch (error) {
    if (error instanceof MalformedUrlError) return error;
    throw error;
  }
  throw new Error(`expected ${String(value)} to be refused`);
}

describe('webhook endpoint validation', () => {
  it.each([
    [undefined, "The webhookUrl '' is empty."],
    ['   ', "The webhookUrl '' is empty."],
    ['partner.example.com/hooks', "The webhookUrl 'partner.example.com/hooks' is not a valid URL."],
    ['http://partner.example.com/hooks', "The webhookUrl 'http://partner.example.com/hooks' is not an https URL."],
    ['ftp://partner.example.com/hooks', "The webhookUrl 'ftp://partner.example.com/hooks' is not an https URL."],
  ])('refuses %j as DSWBHK002 (WrongUrl)', (value, text) => {
    const diagnosis = diagnose(refusal(value), { connector: 'webhook' });
    expect(diagnosis).toMatchObject({ code: 'DSWBHK002', status: 'WrongUrl', retry: 'fix-config', message: `[DSWBHK002] ${text}` });
  });

  it('refuses credentials in the URL without showing them', () => {
    const error = refusal('https://user:p4ssw0rd@partner.example.com/hooks');
    expect(error.message).not.toContain('p4ssw0rd');
    expect(error.message).toContain('https://***@partner.example.com/hooks');
  });

  it('accepts an https URL as is, without its fragment', () => {
    expect(webhookEndpoint(' https://partner.example.com:8443/hooks/contoso?tenant=1#x ').toString()).toBe('https://partner.example.com:8443/hooks/contoso?tenant=1');
  });

  it('masks every query value (tokens live there) but keeps the names when showing an address', () => {
    expect(displayUrl('https://partner.example.com/hooks?token=abc&tenant=1&flag')).toBe('https://partner.example.com/hooks?token=***&tenant=***&***');
  });

  // Refused addresses are shown on the row, the log line and telemetry: whatever shape they have, the
  // user part and the query values never get there, and what is wrong with the address still does.
  it.each([
    ['missing colon after the scheme', 'https//admin:S3cr3tPw@partner.example.com/hooks?token=T0kenValue', 'not a valid URL', 'https//***@partner.example.com/hooks?token=***'],
    ['space in the host', 'https://admin:S3cr3tPw@partner example.com/hooks?hmac=T0kenValue#frag', 'not a valid URL', 'https://***@partner example.com/hooks?hmac=***#***'],
    ['no scheme (parsed as scheme "admin:")', 'admin:S3cr3tPw@partner.example.com/hooks?code=T0kenValue', 'not an https URL', '***@partner.example.com/hooks?code=***'],
    ['http with credentials and a token', 'http://admin:S3cr3tPw@partner.example.com/hooks?code=T0kenValue', 'not an https URL', 'http://***@partner.example.com/hooks?code=***'],
    ['a token as the user part, unparseable', 'https://T0kenValue@partner.example.com:99999/hooks', 'not a valid URL', 'https://***@partner.example.com:99999/hooks'],
  ])('a refused address with secrets (%s) shows neither the password nor the token', (_label, value, reason, shown) => {
    const diagnosis = diagnose(refusal(value), { connector: 'webhook' });
    expect(diagnosis.message).toBe(`[DSWBHK002] The webhookUrl '${shown}' is ${reason}.`);
    expect(diagnosis.message).not.toMatch(/S3cr3tPw|T0kenValue/);
  });

  it('still cuts a long refused address to 200 characters, after masking', () => {
    const value = `https//partner.example.com/${'a'.repeat(300)}?token=T0kenValue`;
    const shown = refusal(value).url;
    expect(shown).toBe(`https//partner.example.com/${'a'.repeat(200 - 'https//partner.example.com/'.length)}…`);
    expect(displayUrl(`ftp://u:S3cr3tPw@h/${'a'.repeat(300)}`)).not.toContain('S3cr3tPw');
  });
});
