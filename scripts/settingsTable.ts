import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { SETTINGS, type SettingSpec } from '../shared/config/settings';

/**
 * The README's configuration table, generated from SETTINGS (shared/config/settingSpecs.ts) between two
 * markers; test/unit/config/readme-settings.test.ts fails when it is stale.
 * `npm run docs:settings` rewrites it.
 */
export const BEGIN = '<!-- settings-table:begin (generated from shared/config/settingSpecs.ts by `npm run docs:settings`) -->';
export const END = '<!-- settings-table:end -->';

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderSettingsTable(settings: readonly SettingSpec[] = SETTINGS): string {
  const rows = settings.map((s) => `| \`${s.name}\` | ${s.default === undefined ? '(unset)' : `\`${cell(s.default)}\``} | ${cell(s.description)} |`);
  return ['| setting | default | meaning |', '|---|---|---|', ...rows].join('\n');
}

/** The README with its settings block replaced by the current table. */
export function withSettingsTable(readme: string, table = renderSettingsTable()): string {
  const begin = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (begin < 0 || end < begin) throw new Error(`README.md has no ${BEGIN} … ${END} block`);
  return `${readme.slice(0, begin + BEGIN.length)}\n${table}\n${readme.slice(end)}`;
}

if (require.main === module) {
  const target = resolve(__dirname, '..', 'README.md');
  writeFileSync(target, withSettingsTable(readFileSync(target, 'utf8')));
  process.stdout.write(`updated the configuration table in ${target}\n`);
}
