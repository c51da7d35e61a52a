import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { z } from 'zod';
import { appDependencies, type AppDependencies } from '../shared/app/dependencies';
import { jsonBody, respond } from '../shared/errorsApi/http';
import { presentTransaction } from '../shared/errorsApi/present';
import { FILTER_PARAMS, parseWith, queryObject, transactionFilterSchema } from '../shared/errorsApi/transactionFilter';

const pagingSchema = z.object({
  pageSize: z.coerce.number().int().min(1).max(200).default(50),
  continuationToken: z.string().max(4000).optional(),
});
const archiveSchema = z.object({ archived: z.boolean({ error: 'archived must be true or false' }) }).strict();

export function makeTransactionsApi(dependencies: () => Pick<AppDependencies, 'transactionsService'>) {
  const service = () => dependencies().transactionsService;
  const filterOf = (request: HttpRequest, extra: readonly string[] = []) => {
    const query = queryObject(request.query, [...FILTER_PARAMS, ...extra]);
    const filterInput = Object.fromEntries(Object.entries(query).filter(([k]) => (FILTER_PARAMS as readonly string[]).includes(k)));
    return { query, filter: parseWith(transactionFilterSchema, filterInput) };
  };
  const ids = (request: HttpRequest) => ({ tenant: request.params.tenant ?? '', id: request.params.id ?? '' });

  return {
    list: (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> =>
      respond(context, async () => {
        const { query, filter } = filterOf(request, ['pageSize', 'continuationToken']);
        const paging = parseWith(pagingSchema, { pageSize: query.pageSize, continuationToken: query.continuationToken });
        const page = await service().page(filter, paging.pageSize, paging.continuationToken);
        return { status: 200, jsonBody: { items: page.records.map((r) => presentTransaction(r)), continuationToken: page.continuationToken } };
      }),
    summary: (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> =>
      respond(context, async () => ({ status: 200, jsonBody: await service().summary(filterOf(request).filter) })),
    get: (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> =>
      respond(context, async () => {
        const { tenant, id } = ids(request);
        return { status: 200, jsonBody: presentTransaction(await service().get(tenant, id), true) };
      }),
    replayOne: (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> =>
      respond(context, async () => {
        const { tenant, id } = ids(request);
        return { status: 202, jsonBody: await service().replayOne(tenant, id) };
      }),
    replayMatching: (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> =>
      respond(context, async () => ({ status: 202, jsonBody: await service().replayMatching(filterOf(request).filter) })),
    archive: (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> =>
      respond(context, async () => {
        const { tenant, id } = ids(request);
        const { archived } = parseWith(archiveSchema, await jsonBody(request));
        return { status: 200, jsonBody: presentTransaction(await service().setArchived(tenant, id, archived)) };
      }),
  };
}

const api = makeTransactionsApi(appDependencies);
app.http('transactionsList', { route: 'transactions', methods: ['GET'], authLevel: 'function', handler: api.list });
app.http('transactionsSummary', { route: 'transactions/summary', methods: ['GET'], authLevel: 'function', handler: api.summary });
app.http('transactionsReplay', { route: 'transactions/replay', methods: ['POST'], authLevel: 'function', handler: api.replayMatching });
app.http('transactionGet', { route: 'transactions/{tenant}/{id}', methods: ['GET'], authLevel: 'function', handler: api.get });
app.http('transactionReplay', { route: 'transactions/{tenant}/{id}/replay', methods: ['POST'], authLevel: 'function', handler: api.replayOne });
app.http('transactionArchive', { route: 'transactions/{tenant}/{id}/archive', methods: ['POST'], authLevel: 'function', handler: api.archive });
