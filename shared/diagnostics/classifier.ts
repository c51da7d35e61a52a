import { entry, UNDIAGNOSED_CODE } from './catalogue';
import { extractFacts, type ErrorFacts } from './facts';
import { formatMessage, formatText, truncate } from './format';
import { redact } from './redact';
import { exchangeRules } from './rules/exchange';
import type { Rule } from './rules/rule';
import { sharedRules } from './rules/shared';
import { storageRules } from './rules/storage';
import { webhookRules } from './rules/webhook';
import type { Connector, Diagnosis, DiagnosisContext } from './types';

const CONNECTOR_RULES: Record<Connector, readonly Rule[]> = {
  exchange: exchangeRules,
  webhook: webhookRules,
};

/** Storage first (only RestErrors or the record stage match it), then the connector's own rules, then the shared layer. */
export function rulesFor(ctx: DiagnosisContext): readonly Rule[] {
  return [...storageRules, ...(ctx.connector ? CONNECTOR_RULES[ctx.connector] : []), ...sharedRules];
}

/** Every rule of every group, for coverage checks. */
export const ALL_RULES: readonly Rule[] = [...storageRules, ...exchangeRules, ...webhookRules, ...sharedRules];

const MAX_STACK_CHARS = 16_000;

function fullStack(error: unknown, facts: ErrorFacts): string {
  const parts: string[] = [facts.stack ?? `${facts.name}: ${facts.message}`];
  try {
    let cause = (error as { cause?: unknown } | null)?.cause;
    for (let depth = 0; cause !== undefined && cause !== null && depth < 5; depth += 1) {
      const c = cause as { stack?: unknown; message?: unknown };
      parts.push(`Caused by: ${typeof c.stack === 'string' ? c.stack : String(c.message ?? cause)}`);
      cause = (cause as { cause?: unknown }).cause;
    }
  } catch {
    parts.push('Caused by: (unreadable)');
  }
  return parts.join('\n');
}

export function diagnosisOf(code: string, text: string, ctx: DiagnosisContext, rule: string): Diagnosis {
  const found = entry(code);
  const secrets = ctx.secrets ?? [];
  return {
    code: found.code,
    status: found.status,
    retry: found.retry,
    title: found.title,
    text: formatText(text, secrets),
    message: formatMessage(found.code, text, secrets),
    rule,
  };
}

function safeFacts(error: unknown): ErrorFacts {
  try {
    return extractFacts(error);
  } catch {
    // A hostile value (throwing getters, revoked proxies) still gets a diagnosis.
    return { name: 'UnreadableError', message: 'the thrown value could not be read', names: [], graph: false, restError: false, timeout: false, brokenCircuit: false };
  }
}

/**
 * Turns anything a pipeline caught into a catalogued diagnosis. It never throws and nothing escapes
 * unclassified: an unmatched shape becomes DSUNK001 with its verbatim text and full stack.
 */
export function diagnose(error: unknown, ctx: DiagnosisContext = {}): Diagnosis {
  const facts = safeFacts(error);
  for (const rule of rulesFor(ctx)) {
    let text: string;
    try {
      if (!rule.when(facts, ctx)) continue;
      // String(): a rule reads fields of the thrown value, and a mutated error may carry a non-string there.
      text = String(rule.text(facts, ctx));
    } catch {
      continue; // a rule that cannot read this shape does not match it
    }
    const diagnosis = diagnosisOf(rule.code, text, ctx, rule.name);
    return facts.retryAfterSeconds === undefined ? diagnosis : { ...diagnosis, retryAfterSeconds: facts.retryAfterSeconds };
  }
  const verbatim = facts.message ? `${facts.name}: ${facts.message}` : facts.name;
  return {
    ...diagnosisOf(UNDIAGNOSED_CODE, verbatim, ctx, 'unmatched'),
    stack: truncate(redact(fullStack(error, facts), ctx.secrets ?? []), MAX_STACK_CHARS),
  };
}
