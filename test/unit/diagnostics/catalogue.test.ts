import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CATALOGUE, findEntry } from '../../../shared/diagnostics/catalogue';
import { renderMarkdown } from '../../../shared/diagnostics/render';
import { RETRY_CLASSES, STATUSES } from '../../../shared/diagnostics/types';

const root = resolve(__dirname, '../../..');
const golden: Array<{ code: string; status: string; retry: string }> = JSON.parse(
  readFileSync(join(root, 'test/golden/issued-codes.json'), 'utf8'),
);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

describe('the catalogue', () => {
  it('has every code once, each with a known Status and one of the four retry classes', () => {
    const codes = CATALOGUE.map((e) => e.code);
    expect(new Set(codes).size).toBe(codes.length);
    expect([...RETRY_CLASSES]).toEqual(['fix-config', 'retried', 'n/a', 'undiagnosed']);
    for (const e of CATALOGUE) {
      expect(e.code).toMatch(/^DS(EX|WBHK|CFG|HTTP|DB|UNK)\d{3}$/);
      expect(STATUSES).toContain(e.status);
      expect(RETRY_CLASSES).toContain(e.retry);
      expect(e.title.length).toBeGreaterThan(3);
      expect(e.meaning.length).toBeGreaterThan(20);
      expect(e.action.length).toBeGreaterThan(0);
    }
  });

  it('keeps every issued code with its Status and retry class (append-only golden file)', () => {
    for (const issued of golden) {
      const current = findEntry(issued.code);
      expect(current, `issued code ${issued.code} disappeared from the catalogue`).toBeDefined();
      expect({ code: issued.code, status: current?.status, retry: current?.retry }).toEqual(issued);
    }
  });

  it('lists every catalogued code in the golden file, so a new code is issued deliberately', () => {
    const issued = new Set(golden.map((g) => g.code));
    const unissued = CATALOGUE.map((e) => e.code).filter((code) => !issued.has(code));
    expect(unissued, 'add new codes to test/golden/issued-codes.json').toEqual([]);
  });

  it('catalogues every code that product code mentions', () => {
    const mentioned = new Map<string, string>();
    for (const dir of ['shared', 'functions', 'dev', 'scripts']) {
      if (!existsSync(join(root, dir))) continue;
      for (const file of sourceFiles(join(root, dir))) {
        for (const match of readFileSync(file, 'utf8').matchAll(/\bDS(?:EX|WBHK|CFG|HTTP|DB|UNK)\d{3}\b/g)) {
          mentioned.set(match[0], file);
        }
      }
    }
    expect(mentioned.size).toBeGreaterThan(20);
    const uncatalogued = [...mentioned].filter(([code]) => !findEntry(code)).map(([code, file]) => `${code} in ${file}`);
    expect(uncatalogued).toEqual([]);
  });

  it('matches the codes, Statuses and retry classes of the spec quick-lookup tables', () => {
    const specDir = resolve(root, '../shared/spec');
    expect(existsSync(specDir), `the team kit spec should sit beside the repo at ${specDir}`).toBe(true);
    const rows: Array<{ code: string; status: string; retry: string }> = [];
    for (const line of readFileSync(join(specDir, 'exchange-errors.txt'), 'utf8').split('\n')) {
      const m = /^(DS[A-Z]+\d{3})\s*\|[^|]*\|\s*(\w+)\s*\|\s*([^|]+?)\s*\|/.exec(line);
      if (m) rows.push({ code: m[1]!, status: m[2]!, retry: m[3]! });
    }
    for (const line of readFileSync(join(specDir, 'webhook-errors.txt'), 'utf8').split('\n')) {
      const m = /^(DS[A-Z]+\d{3}).+?(BackOfficeNotAllowed|WrongUrl|InvalidBackOfficeType|Failed)(fix config|retried|undiagnosed|n\/a)\s*$/.exec(line.trim());
      if (m) rows.push({ code: m[1]!, status: m[2]!, retry: m[3]! });
    }
    expect(rows.length).toBe(14 + 7);
    for (const row of rows) {
      const e = findEntry(row.code);
      expect(e, row.code).toBeDefined();
      expect({ code: row.code, status: e?.status, retry: e?.retry }).toEqual({
        code: row.code,
        status: row.status,
        retry: row.retry.replace('fix config', 'fix-config'),
      });
    }
  });

  it('generated docs/transaction-errors.md is up to date (run `npm run docs`)', () => {
    const committed = readFileSync(join(root, 'docs/transaction-errors.md'), 'utf8');
    expect(committed).toBe(renderMarkdown(CATALOGUE));
    for (const e of CATALOGUE) expect(committed).toContain(`## ${e.code}`);
  });
});
