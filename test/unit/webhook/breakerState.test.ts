import { describe, expect, it } from 'vitest';
import { admission, afterCall, type BreakerSettings, type BreakerState } from '../../../shared/webhook/breakerState';

const settings: BreakerSettings = { failureThreshold: 3, breakMs: 1_000, probeLeaseMs: 5_000 };
const V = 7;
const failure = { counted: true, code: 'DSWBHK020' };
const success = { counted: false };

/** Runs outcomes through afterCall the way the shared breaker stores them. */
function replay(outcomes: Array<{ counted: boolean; code?: string }>, start?: BreakerState, now = 100): BreakerState | undefined {
  return outcomes.reduce<BreakerState | undefined>((state, outcome) => afterCall(state, V, outcome, now, settings) ?? state, start);
}

describe('breaker state machine', () => {
  it('admits while closed and opens after the threshold of counted failures in a row', () => {
    expect(admission(undefined, V, 0, settings, 'p')).toEqual({ admit: true });
    const twice = replay([failure, failure]);
    expect(twice).toMatchObject({ phase: 'Closed', consecutiveFailures: 2, lastFailureCode: 'DSWBHK020' });
    expect(admission(twice, V, 0, settings, 'p')).toEqual({ admit: true });
    expect(replay([failure, failure, failure])).toMatchObject({ phase: 'Open', openedAt: 100, consecutiveFailures: 3 });
  });

  it('a success or an uncounted answer (a 4xx: the partner is up) resets the count; a success with nothing to reset writes nothing', () => {
    expect(replay([failure, failure, success, failure, failure])).toMatchObject({ phase: 'Closed', consecutiveFailures: 2 });
    expect(afterCall(undefined, V, success, 0, settings)).toBeUndefined();
    expect(afterCall({ phase: 'Closed', consecutiveFailures: 0, configVersion: V }, V, success, 0, settings)).toBeUndefined();
  });

  it('short-circuits while open, until the break has passed', () => {
    const open: BreakerState = { phase: 'Open', consecutiveFailures: 3, configVersion: V, openedAt: 100 };
    expect(admission(open, V, 1_099, settings, 'p')).toEqual({ admit: false, halfOpensAt: 1_100 });
    expect(admission(open, V, 1_100, settings, 'p')).toEqual({ admit: true, claim: { ...open, phase: 'HalfOpen', probeId: 'p', probeUntil: 6_100 } });
  });

  it('lets one probe through while half-open; the probe closes it on success and reopens it on failure', () => {
    const halfOpen: BreakerState = { phase: 'HalfOpen', consecutiveFailures: 3, configVersion: V, openedAt: 100, probeId: 'p', probeUntil: 6_100 };
    expect(admission(halfOpen, V, 2_000, settings, 'q')).toEqual({ admit: false, halfOpensAt: 6_100 });
    expect(afterCall(halfOpen, V, { ...success, probeId: 'p' }, 2_000, settings)).toEqual({ phase: 'Closed', consecutiveFailures: 0, configVersion: V });
    expect(afterCall(halfOpen, V, { ...failure, probeId: 'p' }, 2_000, settings)).toMatchObject({ phase: 'Open', openedAt: 2_000 });
    // a call admitted earlier (not the probe) decides nothing
    expect(afterCall(halfOpen, V, success, 2_000, settings)).toBeUndefined();
    expect(afterCall(halfOpen, V, { ...success, probeId: 'other' }, 2_000, settings)).toBeUndefined();
  });

  it('gives the probe to another caller when the probing instance did not report back within its lease', () => {
    const stale: BreakerState = { phase: 'HalfOpen', consecutiveFailures: 3, configVersion: V, openedAt: 100, probeId: 'p', probeUntil: 6_100 };
    expect(admission(stale, V, 6_100, settings, 'q')).toMatchObject({ admit: true, claim: { phase: 'HalfOpen', probeId: 'q', probeUntil: 11_100 } });
  });

  it('a call that ends after another instance opened the breaker does not close it', () => {
    const open: BreakerState = { phase: 'Open', consecutiveFailures: 3, configVersion: V, openedAt: 100 };
    expect(afterCall(open, V, success, 200, settings)).toBeUndefined();
    expect(afterCall(open, V, failure, 200, settings)).toBeUndefined();
  });

  it('forgets a breaker opened under an older connector configuration', () => {
    const open: BreakerState = { phase: 'Open', consecutiveFailures: 3, configVersion: V - 1, openedAt: 100 };
    expect(admission(open, V, 200, settings, 'p')).toEqual({ admit: true });
    expect(afterCall(open, V, failure, 200, settings)).toEqual({ phase: 'Closed', consecutiveFailures: 1, configVersion: V, lastFailureCode: 'DSWBHK020' });
  });

  // A call loaded the connector at version V, an operator saved it (V + 1) and the new version's
  // breaker opened; the old call ends after that: it must not write its outcome over the newer row.
  it('leaves a state recorded under a NEWER connector configuration alone when an older call ends', () => {
    const newerOpen: BreakerState = { phase: 'Open', consecutiveFailures: 3, configVersion: V + 1, openedAt: 100, lastFailureCode: 'DSWBHK010' };
    expect(afterCall(newerOpen, V, failure, 200, settings)).toBeUndefined();
    expect(afterCall(newerOpen, V, success, 200, settings)).toBeUndefined();
    const newerHalfOpen: BreakerState = { ...newerOpen, phase: 'HalfOpen', probeId: 'p', probeUntil: 6_100 };
    expect(afterCall(newerHalfOpen, V, { ...failure, probeId: 'p' }, 200, settings)).toBeUndefined();
    const newerCounting: BreakerState = { phase: 'Closed', consecutiveFailures: 2, configVersion: V + 1 };
    expect(afterCall(newerCounting, V, failure, 200, settings)).toBeUndefined();
    expect(afterCall(newerCounting, V, success, 200, settings)).toBeUndefined();
  });

  it('an older call follows a newer state about the partner but never takes its probe', () => {
    const newerOpen: BreakerState = { phase: 'Open', consecutiveFailures: 3, configVersion: V + 1, openedAt: 100 };
    expect(admission(newerOpen, V, 200, settings, 'p')).toEqual({ admit: false, halfOpensAt: 1_100 });
    expect(admission(newerOpen, V, 1_100, settings, 'p')).toEqual({ admit: false, halfOpensAt: 1_100 });
    expect(admission({ phase: 'Closed', consecutiveFailures: 2, configVersion: V + 1 }, V, 200, settings, 'p')).toEqual({ admit: true });
  });
});
