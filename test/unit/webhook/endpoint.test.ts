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

  it('masks the query (tokens live there) when showing an address', () => {
    expect(displayUrl('https://partner.example.com/hooks?token=abc')).toBe('https://partner.example.com/hooks?***');
  });
});
