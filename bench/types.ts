/** One line of the `npm run bench` table: a ratio of two figures measured side by side in one run. */
export interface BenchRow {
  /** what is measured, e.g. "retry sweep: entities read ÷ entities due" */
  name: string;
  /** the ratio (or count, where the goal is a count) */
  value: number;
  /** the goal as printed, e.g. "≤ 1.1" */
  goal: string;
  met: boolean;
  /** the raw figures behind the ratio, e.g. "1,012 read / 1,000 due; pass 1.8 s vs full scan 21.4 s" */
  detail: string;
}

/** A benchmark starts what it needs (Azurite, simulators), measures, stops it all, and returns its rows. */
export type Bench = () => Promise<BenchRow[]>;
