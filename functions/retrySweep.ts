import { app, type InvocationContext, type Timer } from '@azure/functions';
import { lazy, lazyAppDependencies } from '../shared/app/lazy';
import { bindingExpression } from '../shared/config/settingSpecs';
import type { SweepDependencies } from '../shared/retry/sweep';

// Loaded by the first pass, not at start-up (cold start: shared/app/lazy).
const sweep = lazy(() => import('../shared/retry/sweep.js'));

export function makeRetrySweepHandler(dependencies: () => SweepDependencies | Promise<SweepDependencies>) {
  return async (timer: Timer, context: InvocationContext): Promise<void> => {
    if (timer.isPastDue) context.warn('Retry sweep is running late (the previous pass or the host was busy).');
    const { runRetrySweep } = await sweep();
    await runRetrySweep(await dependencies(), context);
  };
}

export const retrySweepHandler = makeRetrySweepHandler(lazyAppDependencies);

app.timer('retrySweep', {
  schedule: bindingExpression('RETRY_SWEEP_SCHEDULE'),
  handler: retrySweepHandler,
});
