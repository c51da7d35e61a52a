import type { CatalogueEntry, RetryClass } from './types';

export const RETRY_LABEL: Record<RetryClass, string> = {
  'fix-config': 'fix configuration',
  retried: 'retried automatically',
  'n/a': 'not retried (n/a)',
  undiagnosed: 'undiagnosed',
};

const RETRY_ICON: Record<RetryClass, string> = {
  'fix-config': '⚙️',
  retried: '🔁',
  'n/a': '⏭️',
  undiagnosed: '🚨',
};

const INTRO = [
  'Use this page to look up any sync failure by its error code and fix it. When an appointment sync to Exchange or to a partner webhook fails, the connector diagnoses the failure and records it on the transaction row visible on the Errors page. Every diagnosed failure carries a stable code, prefixed on the Transaction.Message in square brackets (for example `[DSEX002] The client secret … is invalid …`), and the same code is logged to Application Insights as `errorCode=<CODE>` (the `errorCode` custom dimension). A code never changes once issued, and only new ones get added, so it is a reliable lookup key.',
  'Retried statuses are transient and self-heal on the next retry pass. Fix configuration statuses need a change to the connector, the Azure app or the partner setup first; once you correct the setting, the retry job replays the affected appointments automatically on its next pass (within a 14-day window), so no manual replay is needed. Send Undiagnosed failures (DSUNK001) to support so a rule can be added.',
  'Each section pairs 💡 (what it means) with 🛠️ (what to do).',
];

function actionMarkdown(entry: CatalogueEntry): string {
  if (entry.action.length === 1) return entry.action[0]!;
  return entry.action.map((step, i) => `${i + 1}. ${step}`).join('\n');
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

/** docs/transaction-errors.md: generated, never edited by hand (a test compares it with this output). */
export function renderMarkdown(entries: readonly CatalogueEntry[]): string {
  const lines: string[] = [
    '<!-- Generated from shared/diagnostics/catalogue.ts by `npm run docs`. Do not edit by hand. -->',
    '# Transaction Errors',
    '',
    ...INTRO.flatMap((p) => [p, '']),
    '## Quick lookup',
    '',
    '| Code | Goes to | Status | Retry |',
    '|---|---|---|---|',
    ...entries.map((e) => `| [${e.code}](#${e.code.toLowerCase()}) | ${cell(e.title)} | ${e.status} | ${e.retry} |`),
    '',
  ];
  for (const e of entries) {
    lines.push(
      `## ${e.code}`,
      '',
      `**${e.title}** — ${RETRY_ICON[e.retry]} Status \`${e.status}\`, ${RETRY_LABEL[e.retry]}`,
      '',
      `💡 ${e.meaning}`,
      '',
      '🛠️ What to do:',
      '',
      actionMarkdown(e),
      '',
    );
    if (e.note) lines.push(`> ⚠️ ${e.note}`, '');
  }
  return lines.join('\n');
}

/** What `npm run explain -- CODE` prints: the same content as the docs section, for a terminal. */
export function renderExplanation(e: CatalogueEntry): string {
  const steps = e.action.length === 1 ? [`  ${e.action[0]}`] : e.action.map((s, i) => `  ${i + 1}. ${s}`);
  return [
    `${e.code} — ${e.title}`,
    `Status: ${e.status}    Retry: ${e.retry} (${RETRY_LABEL[e.retry]})`,
    '',
    `💡 ${e.meaning}`,
    '',
    '🛠️ What to do:',
    ...steps,
    ...(e.note ? ['', `⚠️ ${e.note}`] : []),
    '',
  ].join('\n');
}

/** One line per code: what `npm start` prints as the catalogue summary. */
export function renderSummary(entries: readonly CatalogueEntry[]): string {
  const width = Math.max(...entries.map((e) => e.code.length));
  const statusWidth = Math.max(...entries.map((e) => e.status.length));
  return entries
    .map((e) => `${e.code.padEnd(width)}  ${e.status.padEnd(statusWidth)}  ${e.retry.padEnd(11)}  ${e.title}`)
    .join('\n');
}
