import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import type { AppDependencies } from '../shared/app/dependencies';
import { lazyAppDependencies } from '../shared/app/lazy';
import { jsonBody, respond } from '../shared/errorsApi/http';

type Dependencies = Pick<AppDependencies, 'connectorsService'>;

export function makeConnectorsApi(dependencies: () => Dependencies | Promise<Dependencies>) {
  const ids = (request: HttpRequest) => ({ tenant: request.params.tenant ?? '', id: request.params.id ?? '' });
  return {
    get: (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> =>
      respond(context, async () => {
        const { tenant, id } = ids(request);
        return { status: 200, jsonBody: await (await dependencies()).connectorsService.get(tenant, id) };
      }),
    put: (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> =>
      respond(context, async () => {
        const { tenant, id } = ids(request);
        const service = (await dependencies()).connectorsService;
        return { status: 200, jsonBody: await service.save(tenant, id, await jsonBody(request)) };
      }),
  };
}

const api = makeConnectorsApi(lazyAppDependencies);
app.http('connectorGet', { route: 'connectors/{tenant}/{id}', methods: ['GET'], authLevel: 'function', handler: api.get });
app.http('connectorPut', { route: 'connectors/{tenant}/{id}', methods: ['PUT'], authLevel: 'function', handler: api.put });
