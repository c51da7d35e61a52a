import { PartnerHttpError } from '../domainErrors';
import type { ErrorFacts } from '../facts';
import { domainIs, domainMessage, type Rule } from './rule';

const partnerError = (f: ErrorFacts): PartnerHttpError | undefined =>
  f.domain instanceof PartnerHttpError ? f.domain : undefined;

const isUnauthorized = (status: number): boolean => status === 401 || status === 403;

export const webhookRules: readonly Rule[] = [
  {
    name: 'webhook.not-allowed',
    code: 'DSWBHK001',
    when: domainIs('not-allowed'),
    text: () => 'The connector is not allowed to send appointments to a web service.',
  },
  {
    name: 'webhook.malformed-url',
    code: 'DSWBHK002',
    when: (f) => f.domain?.kind === 'malformed-url' && (f.domain as { field?: string }).field === 'webhookUrl',
    text: domainMessage,
  },
  {
    // The spec suppresses the raw text: the stored type name may be an internal class name.
    name: 'webhook.wrong-connector-type',
    code: 'DSWBHK003',
    when: domainIs('wrong-connector-type'),
    text: () => 'The connector type cannot be cast to Webhook.',
  },
  {
    name: 'webhook.breaker-open',
    code: 'DSWBHK030',
    when: (f) => f.brokenCircuit,
    text: () => 'The circuit breaker for this connector is open; the call was short-circuited before reaching the partner.',
  },
  {
    name: 'webhook.timeout',
    code: 'DSWBHK010',
    when: (f) => f.timeout,
    text: (_f, ctx) =>
      `The partner endpoint did not respond within ${ctx.timeoutMs !== undefined ? `${ctx.timeoutMs} ms` : 'the request timeout'}.`,
  },
  {
    name: 'webhook.partner-http-failure',
    code: 'DSWBHK020',
    when: (f) => {
      const partner = partnerError(f);
      return partner !== undefined && !isUnauthorized(partner.status);
    },
    text: (f) => {
      const partner = partnerError(f)!;
      const detail = [partner.statusText, partner.bodySnippet].filter((part) => part.trim().length > 0).join(': ');
      const attempts = partner.attempts > 1 ? ` (after ${partner.attempts} attempts)` : '';
      return `Status code: ${partner.status}.${detail ? ` ${detail}` : ''}${attempts}`;
    },
  },
  {
    // A partner endpoint failure without a status code: the TLS code is what the partner must act on.
    name: 'webhook.partner-tls-failure',
    code: 'DSWBHK020',
    when: (f) => f.tlsCode !== undefined,
    text: (f) =>
      `The TLS connection to the partner endpoint failed: ${f.tlsCode}${f.tlsDetail && !f.tlsDetail.includes(f.tlsCode!) ? ` (${f.tlsDetail.replace(/\.+\s*$/, '')})` : ''}. ` +
      'The partner must fix its certificate or TLS setup; the request was not sent.',
  },
];
