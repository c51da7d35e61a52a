import { InvocationContext } from '@azure/functions';
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

/** Fires timer functions on their NCRONTAB schedules (six fields, seconds first, UTC). */
export function startTimerHost(options: TimerHostOptions): TimerHost {
  const now = options.now ?? (() => new Date());
  const timers = new Map<string, NodeJS.Timeout>();
  const byName = new Map<string, RegisteredFunction>();
  let closed = false;

  const invoke = async (fn: RegisteredFunction, isPastDue: boolean) => {
    const context = new InvocationContext({
      functionName: fn.metadata.name,
      logHandler: (level, ...args) => options.log(`[${fn.metadata.name}] ${level}: ${args.map(String).join(' ')}`),
    });
    try {
      await fn.handler({ isPastDue, schedule: { adjustForDST: true }, scheduleStatus: { last: now().toISOString() } }, context);
    } catch (error) {
      options.log(`[${fn.metadata.name}] failed: ${String(error)}`);
    }
  };

  for (const fn of options.functions) {
    const trigger = Object.values(fn.metadata.bindings).find((b) => b.type === 'timerTrigger');
    if (!trigger) continue;
    byName.set(fn.metadata.name, fn);
    const schedule = CronExpressionParser.parse(resolveSetting(String(trigger.schedule), options.env), { tz: 'UTC', currentDate: now() });
    const arm = () => {
      if (closed) return;
      const delay = Math.max(0, schedule.next().getTime() - now().getTime());
      const timer = setTimeout(() => {
        void invoke(fn, false).finally(arm);
      }, delay);
      timer.unref();
      timers.set(fn.metadata.name, timer);
    };
    arm();
    options.log(`[${fn.metadata.name}] timer armed on '${String(trigger.schedule)}'`);
    if (trigger.runOnStartup === true) void invoke(fn, false);
  }

  return {
    async fire(functionName) {
      const fn = byName.get(functionName);
      if (!fn) throw new Error(`No timer function named '${functionName}'.`);
      await invoke(fn, false);
    },
    close() {
      closed = true;
      for (const timer of timers.values()) clearTimeout(timer);
    },
  };
}
