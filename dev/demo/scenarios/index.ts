import { rowsOf, type DemoParams, type Scenario } from '../scenario';
import { exchangeScenarios } from './exchange';
import { sharedScenarios } from './shared';
import { storageScenarios } from './storage';
import { webhookScenarios } from './webhook';

export const ALL_SCENARIOS: readonly Scenario[] = [...exchangeScenarios, ...webhookScenarios, ...sharedScenarios, ...storageScenarios];

export type DemoBatch = 'full' | 'short' | 'off';

export function demoBatch(value: string | undefined): DemoBatch {
  const v = (value ?? 'full').trim().toLowerCase();
  if (v === '' || v === 'full') return 'full';
  if (v === 'short' || v === 'off') return v;
  throw new Error(`DEMO_BATCH must be full, short or off (got '${value}')`);
}

export function scenariosOf(batch: DemoBatch): readonly Scenario[] {
  if (batch === 'off') return [];
  return batch === 'short' ? ALL_SCENARIOS.filter((s) => s.short) : ALL_SCENARIOS;
}

/** What a batch should leave behind: rows per outcome and log-only codes, with their counts. */
export function expectedOutcomes(scenarios: readonly Scenario[], params: DemoParams): { rows: Map<string, number>; logged: Map<string, number> } {
  const rows = new Map<string, number>();
  const logged = new Map<string, number>();
  for (const s of scenarios) {
    for (const r of rowsOf(s, params)) rows.set(r, (rows.get(r) ?? 0) + 1);
    for (const c of s.logged ?? []) logged.set(c, (logged.get(c) ?? 0) + 1);
  }
  return { rows, logged };
}
