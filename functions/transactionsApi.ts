import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import type { AppDependencies } from '../shared/app/dependencies';
import { lazy, lazyAppDependencies } from '../shared/app/lazy';
import type { transactionsApiHandlers } from '../shared/app/transactionsApi';

type Dependencies = Pick<AppDependencies, 'transactionsService'>;
type Handlers = ReturnType<typeof transactionsApiHandlers>;

// The handlers (shared/app/transactionsApi) build zod schemas at module load: loaded by the first
// request, not at start-up (cold start: shared/app/lazy).
const implementation = lazy(() => import('../shared/app/transactionsApi.js'));

export function makeTransactionsApi(dependencies: () => Dependencies | Promise<Dependencies>): Handlers {
  const handlers = lazy(async () => (await implementation()).transactionsApiHandlers(dependencies));
  const route =
    (name: keyof Handlers) =>
    async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> =>
      (await handlers())[name](request, context);
  return {
    list: route('list'),
    summary: route('summary'),
    get: route('get'),
    replayOne: route('replayOne'),
    replayMatching: route('replayMatching'),
    archive: route('archive'),
  };
}

const api = makeTransactionsApi(lazyAppDependencies);
app.http('transactionsList', { route: 'transactions', methods: ['GET'], authLevel: 'function', handler: api.list });
app.http('transactionsSummary', { route: 'transactions/summary', methods: ['GET'], authLevel: 'function', handler: api.summary });
app.http('transactionsReplay', { route: 'transactions/replay', methods: ['POST'], authLevel: 'function', handler: api.replayMatching });
app.http('transactionGet', { route: 'transactions/{tenant}/{id}', methods: ['GET'], authLevel: 'function', handler: api.get });
app.http('transactionReplay', { route: 'transactions/{tenant}/{id}/replay', methods: ['POST'], authLevel: 'function', handler: api.replayOne });
app.http('transactionArchive', { route: 'transactions/{tenant}/{id}/archive', methods: ['POST'], authLevel: 'function', handler: api.archive });
