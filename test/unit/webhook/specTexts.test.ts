import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findEntry } from '../../../shared/diagnostics/catalogue';

/**
 * The webhook spec's titles, meanings and actions are requirements word for word (the catalogue test
 * already pins Status and retry class). Each spec section is: title, blank, `<icon>CODE<retry>`, 💡,
 * meaning, 🛠️, action.
 */
const spec = readFileSync(resolve(__dirname, '../../../../shared/spec/webhook-errors.txt'), 'utf8').split('\n');

const sections = spec.flatMap((line, i) => {
  const code = /(DSWBHK\d{3})(?:fix configuration|retried automatically)$/.exec(line.trim())?.[1];
  return code ? [{ code, title: spec[i - 2]!.trim(), meaning: spec[i + 2]!.trim(), action: spec[i + 4]!.trim() }] : [];
});

describe('webhook catalogue entries', () => {
  it('the spec has a section for every DSWBHK code', () => {
    expect(sections.map((s) => s.code)).toEqual(['DSWBHK001', 'DSWBHK002', 'DSWBHK003', 'DSWBHK010', 'DSWBHK020', 'DSWBHK030']);
  });

  it.each(sections.map((s) => [s.code, s] as const))('%s has the spec title, meaning and action word for word', (code, section) => {
    const entry = findEntry(code);
    expect({ title: entry?.title, meaning: entry?.meaning, action: entry?.action.join(' ') }).toEqual({ title: section.title, meaning: section.meaning, action: section.action });
  });
});
