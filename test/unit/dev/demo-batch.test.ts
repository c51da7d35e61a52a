import { describe, expect, it } from 'vitest';
import { ALL_SCENARIOS, demoBatch, expectedOutcomes, scenariosOf } from '../../../dev/demo/scenarios';
import { compareWithExpected, renderSummaryTable, summarize, DiagnosisLog } from '../../../dev/demo/summary';
import { CATALOGUE } from '../../../shared/diagnostics/catalogue';

const params = { breakerThreshold: 5 };

describe('the demo batch of npm start', () => {
  it('exercises every catalogued code: on rows, or (storage codes) in the log', () => {
    const { rows, logged } = expectedOutcomes(ALL_SCENARIOS, params);
    const covered = new Set([...rows.keys(), ...logged.keys()]);
    expect(CATALOGUE.map((e) => e.code).filter((c) => !covered.has(c))).toEqual([]);
    expect([...logged.keys()].sort()).toEqual(CATALOGUE.filter((e) => e.family === 'storage').map((e) => e.code).sort());
    expect(rows.get('DSWBHK010')).toBe(params.breakerThreshold);
  });

  it('has a short batch with a code of every Status, and at least one log-only code', () => {
    const short = scenariosOf('short');
    expect(short.length).toBeLessThan(ALL_SCENARIOS.length);
    const { rows, logged } = expectedOutcomes(short, params);
    const statuses = new Set([...rows.keys()].map((c) => CATALOGUE.find((e) => e.code === c)?.status ?? c));
    expect([...new Set(CATALOGUE.map((e) => e.status))].filter((s) => !statuses.has(s))).toEqual([]);
    expect(statuses).toContain('Succeeded');
    expect(logged.size).toBeGreaterThan(0);
  });

  it('gives every story a name of its own', () => {
    expect(new Set(ALL_SCENARIOS.map((s) => s.name)).size).toBe(ALL_SCENARIOS.length);
  });

  it('reads DEMO_BATCH', () => {
    expect(demoBatch(undefined)).toBe('full');
    expect(demoBatch(' Short ')).toBe('short');
    expect(scenariosOf(demoBatch('off'))).toEqual([]);
    expect(() => demoBatch('tiny')).toThrow(/DEMO_BATCH/);
  });
});

describe('the demo summary', () => {
  const log = new DiagnosisLog();
  log.observe('[syncAppointment] warning: errorCode=DSDB002 status=Failed transactionId=db-dsdb002 message="x"');
  log.observe('[syncAppointment] warning: errorCode=DSEX030 status=Failed transactionId=t1 message="x"');
  log.observe('[syncAppointment] information: transactionId=t2 Succeeded');
  const rows = [
    { tenantId: 'contoso', transactionId: 't1', status: 'Failed', code: 'DSEX030' },
    { tenantId: 'contoso', transactionId: 't2', status: 'Succeeded' },
    { tenantId: 'northwind', transactionId: 'db-dsdb002', status: 'Succeeded' },
  ];
  const lines = summarize(rows, log.entries());

  it('groups rows by code and Status, and adds the codes only the log reports', () => {
    expect(lines).toEqual([
      { code: '-', status: 'Succeeded', count: 2, seenIn: 'row' },
      { code: 'DSEX030', status: 'Failed', count: 1, seenIn: 'row' },
      { code: 'DSDB002', status: 'Failed', count: 1, seenIn: 'log' },
    ]);
    expect(renderSummaryTable(lines)).toMatch(/^DSDB002\s+Failed\s+1\s+Storage access denied \(log only/m);
  });

  it('names what differs from the expectations, including a Status the catalogue does not give the code', () => {
    const expected = { rows: new Map([['DSEX030', 1], ['Succeeded', 2]]), logged: new Map([['DSDB002', 1]]) };
    expect(compareWithExpected(lines, expected)).toEqual([]);
    const wrong = summarize([{ tenantId: 'c', transactionId: 'x', status: 'Skipped', code: 'DSEX030' }], []);
    expect(compareWithExpected(wrong, expected)).toEqual(
      expect.arrayContaining(['DSEX030 rows are Skipped, the catalogue says Failed', 'Succeeded: expected 2 row(s), found 0', 'DSDB002: expected in the log 1 time(s), found 0']),
    );
  });
});
