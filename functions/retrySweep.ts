import { app, type InvocationContext, type Timer } from '@azure/functions';
import { appDependencies } from '../shared/app/dependencies';
import { bindingExpression } from '../shared/config/settings';
import { runRetrySweep, type SweepDependencies } from '../shared/retry/sweep';

export function makeRetrySweepHandler(dependencies: () => SweepDependencies) {
  return async (timer: Timer, context: InvocationContext): Promise<void> => {
    if (timer.isPastDue) context.warn('Retry sweep is running late (the previous pass or the host was busy).');
    await runRetrySweep(dependencies(), context);
  };
}

export const retrySweepHandler = makeRetrySweepHandler(appDependencies);

app.timer('retrySweep', {
  schedule: bindingExpression('RETRY_SWEEP_SCHEDULE'),
  handler: retrySweepHandler,
});
