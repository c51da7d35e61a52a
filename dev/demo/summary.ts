import { CATALOGUE, findEntry } from '../../shared/diagnostics/catalogue';

/** A transaction row as GET /api/transactions lists it (the fields the summary needs). */
export interface ApiRow {
  tenantId: string;
  transactionId: string;
  status: string;
  code?: string;
}

/** Every row, read back through the product's own JSON API with the function key. */
export async function readRowsThroughApi(baseUrl: string, functionKey: string): Promise<ApiRow[]> {
  const rows: ApiRow[] = [];
  let token: string | undefined;
  do {
    const url = new URL('/api/transactions', baseUrl);
    url.searchParams.set('pageSize', '200');
    if (token) url.searchParams.set('continuationToken', token);
    const response = await fetch(url, { headers: { 'x-functions-key': functionKey } });
    if (!response.ok) throw new Error(`GET ${url.pathname} answered ${response.status}: ${await response.text()}`);
    const page = (await response.json()) as { items: ApiRow[]; continuationToken?: string };
    rows.push(...page.items);
    token = page.continuationToken;
  } while (token);
  return rows;
}

/**
 * Counts the host's `errorCode=<CODE> status=<Status>` lines (shared/pipeline/report.ts): the codes
 * that never end on a row (storage failures, which make Service Bus deliver the message again) are
 * only visible there and in telemetry.
 */
export class DiagnosisLog {
  private readonly counts = new Map<string, { status: string; count: number }>();

  observe(line: string): void {
    const match = /errorCode=(DS[A-Z]+\d{3}) status=(\w+)/.exec(line);
    if (!match) return;
    const [, code, status] = match as unknown as [string, string, string];
    const seen = this.counts.get(code) ?? { status, count: 0 };
    seen.count += 1;
    this.counts.set(code, seen);
  }

  entries(): Array<{ code: string; status: string; count: number }> {
    return [...this.counts].map(([code, v]) => ({ code, ...v }));
  }
}

export interface SummaryLine {
  code: string;
  status: string;
  count: number;
  /** 'row': counted from transaction rows; 'log': reported only (the message was delivered again) */
  seenIn: 'row' | 'log';
}

/** Rows grouped by (code, Status), then the codes only the log reports. */
export function summarize(rows: readonly ApiRow[], logged: readonly { code: string; status: string; count: number }[]): SummaryLine[] {
  const groups = new Map<string, SummaryLine>();
  for (const row of rows) {
    const code = row.code ?? '-';
    const id = `${code}|${row.status}`;
    const line = groups.get(id) ?? { code, status: row.status, count: 0, seenIn: 'row' as const };
    line.count += 1;
    groups.set(id, line);
  }
  const onRows = new Set(rows.map((r) => r.code).filter(Boolean));
  for (const l of logged) if (!onRows.has(l.code)) groups.set(`${l.code}|log`, { ...l, seenIn: 'log' });
  const order = (code: string) => (code === '-' ? -1 : CATALOGUE.findIndex((e) => e.code === code));
  return [...groups.values()].sort((a, b) => order(a.code) - order(b.code) || a.status.localeCompare(b.status));
}

export function renderSummaryTable(lines: readonly SummaryLine[]): string {
  const header = ['code', 'Status', 'count', 'title'];
  const body = lines.map((l) => {
    const title = l.code === '-' ? '(no error)' : (findEntry(l.code)?.title ?? '');
    return [l.code, l.status, String(l.count), l.seenIn === 'log' ? `${title} (log only: message delivered again)` : title];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const fmt = (cells: string[]) =>
    cells
      .map((c, i) => (i === 2 ? c.padStart(widths[i]!) : i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...body.map(fmt)].join('\n');
}

/** Catalogued codes the batch produced, and the ones it did not. */
export function coverage(lines: readonly SummaryLine[]): { seen: string[]; missing: string[] } {
  const seen = new Set(lines.map((l) => l.code));
  return { seen: CATALOGUE.map((e) => e.code).filter((c) => seen.has(c)), missing: CATALOGUE.map((e) => e.code).filter((c) => !seen.has(c)) };
}

/** Differences between what the scenarios expected and what the product recorded. */
export function compareWithExpected(lines: readonly SummaryLine[], expected: { rows: Map<string, number>; logged: Map<string, number> }): string[] {
  const problems: string[] = [];
  const actualRows = new Map<string, number>();
  for (const l of lines.filter((x) => x.seenIn === 'row')) {
    const key = l.code === '-' ? l.status : l.code;
    actualRows.set(key, (actualRows.get(key) ?? 0) + l.count);
    const entry = findEntry(l.code);
    if (entry && entry.status !== l.status) problems.push(`${l.code} rows are ${l.status}, the catalogue says ${entry.status}`);
  }
  for (const [key, count] of expected.rows) {
    if ((actualRows.get(key) ?? 0) !== count) problems.push(`${key}: expected ${count} row(s), found ${actualRows.get(key) ?? 0}`);
  }
  for (const [key, count] of actualRows) if (!expected.rows.has(key)) problems.push(`${key}: ${count} unexpected row(s)`);
  const logged = new Map(lines.filter((x) => x.seenIn === 'log').map((l) => [l.code, l.count]));
  for (const [code, count] of expected.logged) {
    if ((logged.get(code) ?? 0) < count) problems.push(`${code}: expected in the log ${count} time(s), found ${logged.get(code) ?? 0}`);
  }
  return problems;
}
