import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { appDependencies, type AppDependencies } from '../shared/app/dependencies';
import { ErrorsPageController } from '../shared/errorsApi/errorsPageController';
import { respond } from '../shared/errorsApi/http';
import { FUNCTION_KEY_PARAM } from '../shared/errorsApi/transactionFilter';

/** No script at all; inline styles only; forms post back to this app. */
const HTML_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
};
export const ERRORS_PAGE_PATH = '/api/ui';

export function makeErrorsPageHandlers(dependencies: () => Pick<AppDependencies, 'transactionsService'>) {
  const controller = () => new ErrorsPageController(dependencies().transactionsService, ERRORS_PAGE_PATH);
  const action = (kind: 'replay' | 'archive') => (request: HttpRequest, context: InvocationContext) =>
    respond(context, async () => {
      const location = await controller().act(kind, new URLSearchParams(await request.text()), request.query.get(FUNCTION_KEY_PARAM) ?? undefined);
      return { status: 303, headers: { location, 'cache-control': 'no-store' } };
    });
  return {
    page: (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> =>
      respond(context, async () => ({ status: 200, headers: HTML_HEADERS, body: await controller().page(request.query) })),
    explain: (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> =>
      respond(context, async () => ({ status: 200, headers: HTML_HEADERS, body: controller().explain(request.params.errorCode ?? '', request.query) })),
    replay: action('replay'),
    archive: action('archive'),
  };
}

const handlers = makeErrorsPageHandlers(appDependencies);
app.http('errorsPage', { route: 'ui', methods: ['GET'], authLevel: 'function', handler: handlers.page });
app.http('errorsPageExplain', { route: 'ui/codes/{errorCode}', methods: ['GET'], authLevel: 'function', handler: handlers.explain });
app.http('errorsPageReplay', { route: 'ui/replay', methods: ['POST'], authLevel: 'function', handler: handlers.replay });
app.http('errorsPageArchive', { route: 'ui/archive', methods: ['POST'], authLevel: 'function', handler: handlers.archive });
