import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { appDependencies, type AppDependencies } from '../shared/app/dependencies';
import { jsonBody, respond } from '../shared/errorsApi/http';

export function makeConnectorsApi(dependencies: () => Pick<AppDependencies, 'connectorsService'>) {
  const ids = (request: HttpRequest) => ({ tenant: request.params.tenant ?? '', id: request.params.id ?? '' });
  return {
    get: (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> =>
      respond(context, async () => {
        const { tenant, id } = ids(request);
        return { status: 200, jsonBody: await dependencies().connectorsService.get(tenant, id) };
      }),
    put: (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> =>
      respond(context, async () => {
        const { tenant, id } = ids(request);
        return { status: 200, jsonBody: await dependencies().connectorsService.save(tenant, id, await jsonBody(request)) };
      }),
  };
}

const api = makeConnectorsApi(appDependencies);
app.http('connectorGet', { route: 'connectors/{tenant}/{id}', methods: ['GET'], authLevel: 'function', handler: api.get });
app.http('connectorPut', { route: 'connectors/{tenant}/{id}', methods: ['PUT'], authLevel: 'function', handler: api.put });
