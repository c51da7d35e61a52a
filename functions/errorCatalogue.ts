import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';
import { catalogueResponse } from '../shared/errorsApi/catalogue';

export async function errorCatalogue(request: HttpRequest): Promise<HttpResponseInit> {
  return catalogueResponse(request.params.code);
}

app.http('errorCatalogue', {
  route: 'errors/{code?}',
  methods: ['GET'],
  authLevel: 'function',
  handler: errorCatalogue,
});
