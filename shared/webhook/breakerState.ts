/**
 * The circuit breaker of one (tenant, connector) as a pure state machine: what the stored state says
 * about a new call, and what the state becomes after a call. Persistence (ETags, fail-open) lives in
 * ./sharedBreaker; keeping the rules here makes every transition testable without storage.
 */
export type BreakerPhase = 'Closed' | 'Open' | 'HalfOpen';

export interface BreakerState {
  phase: BreakerPhase;
  /** deliveries in a row that failed for availability reasons (timeouts, exhausted transients) */
  consecutiveFailures: number;
  /** the connector configuration this state belongs to: an edited connector starts closed */
  configVersion: number;
  /** ms since the epoch; set while Open or HalfOpen */
  openedAt?: number;
  /** HalfOpen: the one call allowed through, and until when it holds that right */
  probeId?: string;
  probeUntil?: number;
  /** the code of the last counted failure, for whoever looks at the table */
  lastFailureCode?: string;
}

export interface BreakerSettings {
  failureThreshold: number;
  breakMs: number;
  /** how long a half-open probe may take before another instance may probe instead (it may have died) */
  probeLeaseMs: number;
}

export type Admission =
  | { admit: true; claim?: BreakerState }
  | { admit: false; halfOpensAt: number };

const closed = (configVersion: number): BreakerState => ({ phase: 'Closed', consecutiveFailures: 0, configVersion });

/**
 * The state that applies to this configuration: a breaker opened against an older one is forgotten.
 * Only an older one: config versions only grow, so a row recorded under a NEWER version means this call
 * loaded the connector before an edit and is finishing after it; that row is not this call's to judge.
 */
function current(state: BreakerState | undefined, configVersion: number): BreakerState {
  return state && state.configVersion >= configVersion ? state : closed(configVersion);
}

/** The stored state belongs to a newer configuration than the call's (see `current`). */
function newer(state: BreakerState | undefined, configVersion: number): boolean {
  return state !== undefined && state.configVersion > configVersion;
}

/**
 * Closed: go. Open within the break: short-circuit. Open after the break, or HalfOpen whose probe lease
 * ran out: go, as the probe, once `claim` is stored (whoever stores it first wins; the rest re-read and
 * are short-circuited by the live lease). A call older than the stored configuration follows what that
 * state says about the partner but never probes: the probe's outcome would be recorded under the
 * newer version by a call that did not use it, so it is short-circuited and a current call probes.
 */
export function admission(stored: BreakerState | undefined, configVersion: number, now: number, settings: BreakerSettings, probeId: string): Admission {
  const state = current(stored, configVersion);
  if (state.phase === 'Closed') return { admit: true };
  const halfOpensAt = (state.openedAt ?? 0) + settings.breakMs;
  if (state.phase === 'Open' && now < halfOpensAt) return { admit: false, halfOpensAt };
  if (state.phase === 'HalfOpen' && now < (state.probeUntil ?? 0)) return { admit: false, halfOpensAt: state.probeUntil ?? now };
  if (newer(stored, configVersion)) return { admit: false, halfOpensAt: now };
  return { admit: true, claim: { ...state, phase: 'HalfOpen', probeId, probeUntil: now + settings.probeLeaseMs } };
}

export interface CallOutcome {
  /** the failure says the partner is unavailable (it counts towards opening) */
  counted: boolean;
  code?: string;
  /** set when this call was the half-open probe */
  probeId?: string;
}

/**
 * The state after a call, or undefined when nothing changes (the common success writes nothing).
 * Only the probe decides a half-open breaker; a call admitted while closed that ends after another
 * instance opened the breaker does not close it again, nor does a call made under an older connector
 * configuration than the stored state's touch it. Any answer that is not counted (2xx, or a 4xx:
 * the partner is up and answering) closes the breaker or resets the count.
 */
export function afterCall(stored: BreakerState | undefined, configVersion: number, outcome: CallOutcome, now: number, settings: BreakerSettings): BreakerState | undefined {
  // A call that loaded the connector before an edit and ends after it: its outcome says nothing about
  // the new configuration (another URL, another timeout), and writing it would wipe that state.
  if (newer(stored, configVersion)) return undefined;
  const state = current(stored, configVersion);
  const open = (): BreakerState => ({
    phase: 'Open',
    consecutiveFailures: state.consecutiveFailures + 1,
    configVersion,
    openedAt: now,
    ...(outcome.code ? { lastFailureCode: outcome.code } : {}),
  });

  if (state.phase !== 'Closed') {
    const isProbe = state.phase === 'HalfOpen' && outcome.probeId !== undefined && state.probeId === outcome.probeId;
    if (!isProbe) return undefined;
    return outcome.counted ? open() : closed(configVersion);
  }
  if (!outcome.counted) return state.consecutiveFailures === 0 ? undefined : closed(configVersion);
  const failures = state.consecutiveFailures + 1;
  if (failures >= settings.failureThreshold) return open();
  return { ...state, consecutiveFailures: failures, ...(outcome.code ? { lastFailureCode: outcome.code } : {}) };
}
