import type { ErrorFacts } from '../facts';
import { domainIs, domainMessage, inner, isTransientStatus, type Rule } from './rule';

const isUnauthorizedHttp = (f: ErrorFacts): boolean =>
  !f.restError && (f.httpStatus === 401 || f.httpStatus === 403);

/** Rules of the shared connector layer: they apply to every connector type, after its own rules. */
export const sharedRules: readonly Rule[] = [
  { name: 'config.not-allowed', code: 'DSCFG001', when: domainIs('not-allowed'), text: domainMessage },
  { name: 'config.missing-field', code: 'DSCFG002', when: domainIs('missing-connector-field'), text: domainMessage },
  {
    name: 'config.no-data',
    code: 'DSCFG003',
    when: domainIs('connector-not-found', 'empty-back-office-response'),
    text: domainMessage,
  },
  { name: 'config.schema-mismatch', code: 'DSCFG004', when: domainIs('schema-mismatch'), text: domainMessage },
  { name: 'config.wrong-system-type', code: 'DSCFG005', when: domainIs('wrong-connector-type'), text: domainMessage },
  { name: 'config.credentials-unreadable', code: 'DSCFG006', when: domainIs('unreadable-credentials'), text: domainMessage },
  { name: 'config.malformed-url', code: 'DSCFG007', when: domainIs('malformed-url'), text: domainMessage },
  {
    name: 'http.unauthorized',
    code: 'DSCFG008',
    when: isUnauthorizedHttp,
    text: (f) => `The back office rejected the request as unauthorized: ${inner(f)}.`,
  },
  {
    name: 'http.transient',
    code: 'DSHTTP001',
    when: (f) => !f.restError && (isTransientStatus(f.httpStatus) || f.networkCode !== undefined || f.timeout),
    text: (f) => `HTTP transient: ${inner(f)}.`,
  },
];
