import type { ErrorFacts } from '../facts';
import type { DiagnosisContext } from '../types';

/** One classification rule: data plus two small functions, evaluated in order within its group. */
export interface Rule {
  name: string;
  code: string;
  when(facts: ErrorFacts, ctx: DiagnosisContext): boolean;
  text(facts: ErrorFacts, ctx: DiagnosisContext): string;
}

export const domainIs =
  (...kinds: string[]) =>
  (f: ErrorFacts): boolean =>
    f.domain !== undefined && kinds.includes(f.domain.kind);

export const domainMessage = (f: ErrorFacts): string => f.domain?.message ?? f.message;

export function isTransientStatus(status: number | undefined): boolean {
  return status === 408 || status === 429 || (status !== undefined && status >= 500 && status <= 599);
}

/** The service's own words without its trailing period, for embedding in a sentence of ours. */
export function inner(f: ErrorFacts): string {
  const parts = [f.httpStatus !== undefined && f.httpStatus > 0 ? String(f.httpStatus) : undefined, f.serviceCode ?? f.networkCode];
  const head = parts.filter(Boolean).join(' ');
  const message = f.message.replace(/\.+\s*$/, '');
  if (!message) return head || f.name;
  return head && !message.includes(head) ? `${head}: ${message}` : message;
}
