import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import type { AppDependencies } from '../shared/app/dependencies';
import { lazy, lazyAppDependencies } from '../shared/app/lazy';
import { respond } from '../shared/errorsApi/http';

// Loaded by the first request, not at start-up (cold start: shared/app/lazy): the controller builds
// zod schemas and renders the page.
const pageModules = lazy(async () => {
  const [{ ErrorsPageController }, { FUNCTION_KEY_PARAM }] = await Promise.all([
    import('../shared/errorsApi/errorsPageController.js'),
    import('../shared/errorsApi/transactionFilter.js'),
  ]);
  return { ErrorsPageController, FUNCTION_KEY_PARAM };
});

/** No script at all; inline styles only; forms post back to this app. */
const HTML_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
};
export const ERRORS_PAGE_PATH = '/api/ui';

type Dependencies = Pick<AppDependencies, 'transactionsService'>;

export function makeErrorsPageHandlers(dependencies: () => Dependencies | Promise<Dependencies>) {
  const controller = async () => {
    const { ErrorsPageController } = await pageModules();
    return new ErrorsPageController((await dependencies()).transactionsService, ERRORS_PAGE_PATH);
  };
  const action = (kind: 'replay' | 'archive') => (request: HttpRequest, context: InvocationContext) =>
    respond(context, async () => {
      const { FUNCTION_KEY_PARAM } = await pageModules();
      const location = await (await controller()).act(kind, new URLSearchParams(await request.text()), request.query.get(FUNCTION_KEY_PARAM) ?? undefined);
      return { status: 303, headers: { location, 'cache-control': 'no-store' } };
    });
  return {
    page: (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> =>
      respond(context, async () => ({ status: 200, headers: HTML_HEADERS, body: await (await controller()).page(request.query) })),
    explain: (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> =>
      respond(context, async () => ({ status: 200, headers: HTML_HEADERS, body: (await controller()).explain(request.params.errorCode ?? '', request.query) })),
    replay: action('replay'),
    archive: action('archive'),
  };
}

const handlers = makeErrorsPageHandlers(lazyAppDependencies);
app.http('errorsPage', { route: 'ui', methods: ['GET'], authLevel: 'function', handler: handlers.page });
app.http('errorsPageExplain', { route: 'ui/codes/{errorCode}', methods: ['GET'], authLevel: 'function', handler: handlers.explain });
app.http('errorsPageReplay', { route: 'ui/replay', methods: ['POST'], authLevel: 'function', handler: handlers.replay });
app.http('errorsPageArchive', { route: 'ui/archive', methods: ['POST'], authLevel: 'function', handler: handlers.archive });
