import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * infra/workbook.json, the operators' dashboard, built from the queries in infra/queries so the page
 * and the .kql files never drift apart (test/infra checks it). Run `npx tsx scripts/build-workbook.ts`
 * after editing a query.
 */
export const WORKBOOK_PANELS: ReadonlyArray<{ file: string; title: string; visualization: 'timechart' | 'table' | 'barchart'; width?: string }> = [
  { file: 'failures-by-error-code.kql', title: 'Failures by errorCode over time', visualization: 'timechart' },
  { file: 'fix-config-by-connector.kql', title: 'Top connectors by fix-config codes (the customer must fix the configuration)', visualization: 'table', width: '50' },
  { file: 'fix-config-by-tenant.kql', title: 'Top tenants by fix-config codes', visualization: 'table', width: '50' },
  { file: 'undiagnosed-with-stacks.kql', title: 'DSUNK001: undiagnosed failures with their stacks', visualization: 'table' },
  { file: 'webhook-breaker-openings.kql', title: 'Webhook circuit breaker openings', visualization: 'table', width: '50' },
  { file: 'retry-given-up.kql', title: 'Rows the retry sweep gave up on (past the replay window)', visualization: 'table', width: '50' },
  { file: 'retry-sweep-outcomes.kql', title: 'Retry sweep outcomes per hour', visualization: 'table' },
];

export const QUERIES_DIR = resolve(__dirname, '..', 'infra', 'queries');
export const WORKBOOK_PATH = resolve(__dirname, '..', 'infra', 'workbook.json');

export function buildWorkbook(readQuery: (file: string) => string = (file) => readFileSync(resolve(QUERIES_DIR, file), 'utf8')): string {
  const header = {
    type: 1,
    name: 'header',
    content: {
      json:
        '## Appointment sync: failures and retries\n' +
        'Every failure carries a catalogued **errorCode** (`customDimensions.errorCode`); explain one with `npm run explain -- <code>` or on the Errors page (`/api/ui/codes/<code>`). ' +
        '**fix-config** codes need the customer to fix the connector; **retried** codes replay by themselves; **DSUNK001** needs a new classifier rule.',
    },
  };
  const timeRange = {
    type: 9,
    name: 'parameters',
    content: {
      version: 'KqlParameterItem/1.0',
      parameters: [
        {
          id: 'time-range',
          version: 'KqlParameterItem/1.0',
          name: 'TimeRange',
          label: 'Time range',
          type: 4,
          isRequired: true,
          value: { durationMs: 86400000 },
          typeSettings: { selectableValues: [3600000, 14400000, 43200000, 86400000, 259200000, 604800000, 1209600000].map((durationMs) => ({ durationMs })), allowCustom: true },
        },
      ],
      style: 'pills',
      queryType: 0,
      resourceType: 'microsoft.insights/components',
    },
  };
  const panels = WORKBOOK_PANELS.map((panel) => ({
    type: 3,
    name: panel.file.replace(/\.kql$/, ''),
    ...(panel.width ? { customWidth: panel.width } : {}),
    content: {
      version: 'KqlItem/1.0',
      title: panel.title,
      query: readQuery(panel.file).trimEnd(),
      size: 0,
      timeContextFromParameter: 'TimeRange',
      queryType: 0,
      resourceType: 'microsoft.insights/components',
      visualization: panel.visualization,
    },
  }));
  const workbook = {
    version: 'Notebook/1.0',
    items: [header, timeRange, ...panels],
    fallbackResourceIds: [],
    $schema: 'https://github.com/Microsoft/Application-Insights-Workbooks/blob/master/schema/workbook.json',
  };
  return `${JSON.stringify(workbook, null, 2)}\n`;
}

if (require.main === module) {
  writeFileSync(WORKBOOK_PATH, buildWorkbook());
  process.stdout.write(`wrote ${WORKBOOK_PATH}\n`);
}
