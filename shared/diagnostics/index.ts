export * from './types';
export * from './catalogue';
export * from './domainErrors';
export { diagnose, diagnosisOf } from './classifier';
export { formatMessage, MAX_MESSAGE_CHARS } from './format';
export { redact, REDACTED } from './redact';
export { parseRetryAfter } from './facts';
