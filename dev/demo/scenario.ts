import type { DemoContext } from './world';

/** The app settings a story's outcome depends on. */
export interface DemoParams {
  breakerThreshold: number;
}

/** A row outcome the demo expects: a catalogued code, or a plain success. */
export type RowOutcome = string | 'Succeeded';

/**
 * One story of the demo batch: it seeds what it needs (a misconfigured connector, a simulator fault),
 * sends its messages and waits until the host has settled them. Scenarios run concurrently, so each
 * one owns its connectors, mailboxes and partner paths.
 */
export interface Scenario {
  name: string;
  /** what the transaction rows end as, one entry per row (some stories depend on a setting) */
  rows: readonly RowOutcome[] | ((params: DemoParams) => readonly RowOutcome[]);
  /**
   * codes that are reported (log line errorCode=…, telemetry) but are never a row's outcome: storage
   * failures fail the invocation so Service Bus delivers the message again
   */
  logged?: readonly string[];
  /** part of the short batch (DEMO_BATCH=short) */
  short?: boolean;
  run(ctx: DemoContext): Promise<void>;
}

export function scenario(s: Scenario): Scenario {
  return s;
}

export function rowsOf(s: Scenario, params: DemoParams): readonly RowOutcome[] {
  return typeof s.rows === 'function' ? s.rows(params) : s.rows;
}
