import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BEGIN, END, renderSettingsTable, withSettingsTable } from '../../../scripts/settingsTable';
import { SETTINGS } from '../../../shared/config/settings';

const readme = readFileSync(join(__dirname, '../../../README.md'), 'utf8');

describe('the README configuration table', () => {
  it('is generated from SETTINGS and up to date (run `npm run docs:settings`)', () => {
    expect(readme).toContain(BEGIN);
    expect(readme).toContain(END);
    expect(withSettingsTable(readme)).toBe(readme);
  });

  it('lists every setting with its default and meaning', () => {
    const block = readme.slice(readme.indexOf(BEGIN), readme.indexOf(END));
    for (const s of SETTINGS) {
      const row = block.split('\n').find((line) => line.startsWith(`| \`${s.name}\` |`));
      expect(row, s.name).toBeDefined();
      expect(row).toContain(s.default === undefined ? '(unset)' : `\`${s.default}\``);
      expect(row).toContain(s.description.slice(0, 40));
    }
    expect(block.split('\n').filter((l) => l.startsWith('| `'))).toHaveLength(SETTINGS.length);
  });

  it('escapes what would break a Markdown row', () => {
    expect(renderSettingsTable([{ name: 'X', description: 'a | b', default: '1' }])).toContain('| `X` | `1` | a \\| b |');
  });
});
