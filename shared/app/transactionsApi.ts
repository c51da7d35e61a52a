import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { z } from 'zod';
import { jsonBody, respond } from '../errorsApi/http';
import { presentTransaction } from '../errorsApi/present';
import { FILTER_PARAMS, parseWith, queryObject, transactionFilterSchema } from '../errorsApi/transactionFilter';
import type { AppDependencies } from './dependencies';

/**
 * The transactions API's handlers (functions/transactionsApi registers them). They live here, not in
 * the function file, because they build zod schemas at module load: the function file loads this
 * module on the first request (cold start: shared/app/lazy).
 */
type Dependencies = Pick<AppDependencies, 'transactionsService'>;

const pagingSchema = z.object({
  pageSize: z.coerce.number().int().min(1).max(200).default(50),
  continuationToken: z.string().max(4000).optional(),
});
const archiveSchema = z.object({ archived: z.boolean({ error: 'archived must be true or false' }) }).strict();

export function transactionsApiHandlers(dependencies: () => Dependencies | Promise<Dependencies>) {
  const service = async () => (await dependencies()).transactionsService;
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
        const page = await (await service()).page(filter, paging.pageSize, paging.continuationToken);
        return { status: 200, jsonBody: { items: page.records.map((r) => presentTransaction(r)), continuationToken: page.continuationToken } };
      }),
    summary: (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> =>
      respond(context, async () => ({ status: 200, jsonBody: await (await service()).summary(filterOf(request).filter) })),
    get: (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> =>
      respond(context, async () => {
        const { tenant, id } = ids(request);
        return { status: 200, jsonBody: presentTransaction(await (await service()).get(tenant, id), true) };
      }),
    replayOne: (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> =>
      respond(context, async () => {
        const { tenant, id } = ids(request);
        return { status: 202, jsonBody: await (await service()).replayOne(tenant, id) };
      }),
    replayMatching: (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> =>
      respond(context, async () => ({ status: 202, jsonBody: await (await service()).replayMatching(filterOf(request).filter) })),
    archive: (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> =>
      respond(context, async () => {
        const { tenant, id } = ids(request);
        const { archived } = parseWith(archiveSchema, await jsonBody(request));
        return { status: 200, jsonBody: presentTransaction(await (await service()).setArchived(tenant, id, archived)) };
      }),
  };
}
