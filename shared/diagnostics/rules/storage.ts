import type { ErrorFacts } from '../facts';
import type { DiagnosisContext } from '../types';
import { inner, isTransientStatus, type Rule } from './rule';

// Only @azure/data-tables throws RestError in this app; a bare network error counts as storage only
// when the caller says it happened while recording.
const fromStorage = (f: ErrorFacts, ctx: DiagnosisContext): boolean => f.restError || ctx.stage === 'record';

export const storageRules: readonly Rule[] = [
  {
    name: 'storage.concurrency-conflict',
    code: 'DSDB003',
    when: (f, ctx) => fromStorage(f, ctx) && (f.httpStatus === 412 || f.httpStatus === 409),
    text: (f) => `Table Storage concurrency conflict: ${inner(f)}.`,
  },
  {
    name: 'storage.access-denied',
    code: 'DSDB002',
    when: (f, ctx) => fromStorage(f, ctx) && (f.httpStatus === 401 || f.httpStatus === 403),
    text: (f) => `Table Storage denied access: ${inner(f)}.`,
  },
  {
    name: 'storage.timeout',
    code: 'DSDB004',
    // The tables SDK reports its per-request timeout as a bare AbortError.
    when: (f, ctx) => fromStorage(f, ctx) && (f.timeout || f.httpStatus === 408 || f.names.includes('AbortError')),
    text: (f) => `Table Storage timed out: ${inner(f)}.`,
  },
  {
    name: 'storage.transient',
    code: 'DSDB001',
    when: (f, ctx) => fromStorage(f, ctx) && (f.networkCode !== undefined || isTransientStatus(f.httpStatus)),
    text: (f) => `Table Storage is unavailable: ${inner(f)}.`,
  },
];
