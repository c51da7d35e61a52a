import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';
import { lazy } from '../shared/app/lazy';

// Loaded by the first request, not at start-up (cold start: shared/app/lazy).
const catalogue = lazy(() => import('../shared/errorsApi/catalogue.js'));

export async function errorCatalogue(request: HttpRequest): Promise<HttpResponseInit> {
  const { catalogueResponse } = await catalogue();
  return catalogueResponse(request.params.code);
}

app.http('errorCatalogue', {
  route: 'errors/{code?}',
  methods: ['GET'],
  authLevel: 'function',
  handler: errorCatalogue,
});
