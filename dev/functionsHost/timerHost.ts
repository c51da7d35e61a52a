import { InvocationContext, type Timer } from '@azure/functions';
import { CronExpressionParser } from 'cron-parser';
import type { RegisteredFunction } from './fakeCore';
import { resolveSetting } from './settings';

export interface TimerHostOptions {
  functions: Iterable<RegisteredFunction>;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
  now?: () => Date;
}

export interface TimerHost {
  /** runs a timer function once, now (what `func` does for an admin invocation) */
  fire(functionName: string): Promise<void>;
  close(): void;
}

/** The first occurrence of `expression` strictly after `after` (six NCRONTAB fields, seconds first, UTC). */
export function nextOccurrence(expression: string, after: Date): Date {
  return CronExpressionParser.parse(expression, { tz: 'UTC', currentDate: after }).next().toDate();
}

/**
 * Fires timer functions on their NCRONTAB schedules (six fields, seconds first, UTC) as the Functions
 * host does: one invocation at a time per function, and after each run the next occurrence is the
 * first one after *now*, so occurrences missed while a run took long (or while the process was
 * suspended) are skipped, never fired back to back. The invocation that follows such a gap gets
 * `isPastDue: true`.
 */
export function startTimerHost(options: TimerHostOptions): TimerHost {
  const now = options.now ?? (() => new Date());
  const timers = new Map<string, NodeJS.Timeout>();
  const byName = new Map<string, RegisteredFunction>();
  let closed = false;

  const invoke = async (fn: RegisteredFunction, timer: Timer) => {
    const context = new InvocationContext({
      functionName: fn.metadata.name,
      logHandler: (level, ...args) => options.log(`[${fn.metadata.name}] ${level}: ${args.map(String).join(' ')}`),
    });
    try {
      await fn.handler(timer, context);
    } catch (error) {
      options.log(`[${fn.metadata.name}] failed: ${String(error)}`);
    }
  };
  const status = (last: Date | undefined, next: Date) => ({
    // As the host's schedule status: the previous occurrence run, the one this invocation is for.
    last: (last ?? new Date(0)).toISOString(),
    next: next.toISOString(),
    lastUpdated: now().toISOString(),
  });

  for (const fn of options.functions) {
    const trigger = Object.values(fn.metadata.bindings).find((b) => b.type === 'timerTrigger');
    if (!trigger) continue;
    byName.set(fn.metadata.name, fn);
    const expression = resolveSetting(String(trigger.schedule), options.env);
    const adjustForDST = true; // the host's default; schedules here are UTC
    /** the occurrence the last scheduled run was for */
    let lastOccurrence: Date | undefined;
    /** the occurrence the schedule had reached: occurrences between it and the next due one were missed */
    let reached = now();

    const arm = () => {
      if (closed) return;
      // Never before the occurrence just run: a timer may fire a millisecond early by the wall clock.
      const from = lastOccurrence && lastOccurrence.getTime() > now().getTime() ? lastOccurrence : now();
      const due = nextOccurrence(expression, from);
      // Anything scheduled after the last occurrence handled and before `due` was missed.
      const missed = nextOccurrence(expression, reached).getTime() < due.getTime();
      const timer = setTimeout(() => {
        const firedAt = now();
        // A timer that fires so late that a later occurrence already passed (a blocked event loop, a
        // suspended laptop) is past due too.
        const late = nextOccurrence(expression, due).getTime() <= firedAt.getTime();
        const timerArgument: Timer = { isPastDue: missed || late, schedule: { adjustForDST }, scheduleStatus: status(lastOccurrence, due) };
        lastOccurrence = due;
        reached = late ? firedAt : due;
        if (timerArgument.isPastDue) options.log(`[${fn.metadata.name}] past due: occurrences were missed before ${firedAt.toISOString()}`);
        void invoke(fn, timerArgument).finally(() => {
          // Occurrences that came and went during the run are missed: never run them back to back.
          arm();
        });
      }, Math.max(0, due.getTime() - now().getTime()));
      timer.unref();
      timers.set(fn.metadata.name, timer);
    };
    arm();
    options.log(`[${fn.metadata.name}] timer armed on '${String(trigger.schedule)}'`);
    if (trigger.runOnStartup === true) {
      void invoke(fn, { isPastDue: false, schedule: { adjustForDST }, scheduleStatus: status(undefined, now()) });
    }
  }

  return {
    async fire(functionName) {
      const fn = byName.get(functionName);
      if (!fn) throw new Error(`No timer function named '${functionName}'.`);
      await invoke(fn, { isPastDue: false, schedule: { adjustForDST: true }, scheduleStatus: status(undefined, now()) });
    },
    close() {
      closed = true;
      for (const timer of timers.values()) clearTimeout(timer);
    },
  };
}
