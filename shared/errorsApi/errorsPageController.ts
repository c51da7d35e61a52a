import { z } from 'zod';
import { findEntry } from '../diagnostics/catalogue';
import { NotFoundError } from './errors';
import { renderErrorsPage, SINCE_OPTIONS, type ErrorsPageModel, type Since } from './html/errorsPage';
import { renderExplainPage } from './html/explainPage';
import { url } from './html/escape';
import { FUNCTION_KEY_PARAM, parseWith, queryObject, transactionFilterSchema, type TransactionFilter } from './transactionFilter';
import { summarize, type TransactionsService } from './transactionsService';

/** Rows shown on one page; the groups still count everything that matches. */
export const PAGE_ROWS = 500;

const pageQuerySchema = z.object({
  tenant: z.string().optional(),
  connector: z.string().optional(),
  status: z.string().optional(),
  errorCode: z.string().optional(),
  since: z.enum(Object.keys(SINCE_OPTIONS) as [Since, ...Since[]]).default('7d'),
  includeArchived: z.enum(['true', 'false']).optional(),
  sort: z.enum(['asc', 'desc']).default('desc'),
  notice: z.string().max(200).optional(),
});
const PAGE_PARAMS = Object.keys(pageQuerySchema.shape);

const blankToUndefined = (value: string | undefined) => (value === undefined || value.trim() === '' ? undefined : value);

/** Page parameters → the same validated filter the JSON API uses. */
function pageFilter(query: z.infer<typeof pageQuerySchema>, now: Date): TransactionFilter {
  const since = SINCE_OPTIONS[query.since];
  const status = blankToUndefined(query.status);
  return parseWith(transactionFilterSchema, {
    tenant: blankToUndefined(query.tenant),
    connector: blankToUndefined(query.connector),
    status,
    errorCode: blankToUndefined(query.errorCode),
    from: since ? new Date(now.getTime() - since).toISOString() : undefined,
    failedOnly: status ? 'false' : 'true',
    includeArchived: query.includeArchived ?? 'false',
  });
}

export class ErrorsPageController {
  constructor(
    private readonly transactions: TransactionsService,
    private readonly basePath: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async page(params: URLSearchParams): Promise<string> {
    const query = parseWith(pageQuerySchema, queryObject(params, PAGE_PARAMS));
    const filter = pageFilter(query, this.now());
    const { records, truncated } = await this.transactions.matching(filter);
    if (query.sort === 'asc') records.reverse();
    const model: ErrorsPageModel = {
      functionKey: params.get(FUNCTION_KEY_PARAM) ?? undefined,
      filter: {
        tenant: filter.tenant,
        connector: filter.connector,
        status: filter.status,
        errorCode: filter.errorCode,
        since: query.since,
        includeArchived: filter.includeArchived,
        sort: query.sort,
      },
      records: records.slice(0, PAGE_ROWS),
      summary: summarize(records, truncated),
      truncated: truncated || records.length > PAGE_ROWS,
      notice: query.notice,
      basePath: this.basePath,
    };
    return renderErrorsPage(model);
  }

  explain(code: string, params: URLSearchParams): string {
    const found = findEntry(code);
    if (!found) throw new NotFoundError(`Unknown code '${code.slice(0, 20)}'.`);
    return renderExplainPage(found, this.basePath, params.get(FUNCTION_KEY_PARAM) ?? undefined);
  }

  /** A form post (replay or archive) → where to send the browser back, with a notice. */
  async act(action: 'replay' | 'archive', form: URLSearchParams, functionKey: string | undefined): Promise<string> {
    const back = (notice: string) => {
      const params = Object.fromEntries([...form].filter(([k]) => PAGE_PARAMS.includes(k) && k !== 'notice'));
      return url(this.basePath, { ...params, code: functionKey, notice });
    };
    const txTenant = form.get('txTenant');
    const txId = form.get('txId');
    if (action === 'archive') {
      if (txTenant === null || !txId) throw new NotFoundError('No transaction named.');
      const archived = form.get('archived') !== 'false';
      await this.transactions.setArchived(txTenant, txId, archived);
      return back(`${archived ? 'Archived' : 'Unarchived'} transaction ${txId}.`);
    }
    if (form.get('scope') === 'group') {
      const query = parseWith(pageQuerySchema, Object.fromEntries([...form].filter(([k]) => PAGE_PARAMS.includes(k))));
      const { enqueued, matched } = await this.transactions.replayMatching(pageFilter(query, this.now()));
      return back(`Replay queued for ${enqueued} of ${matched} transaction(s).`);
    }
    if (txTenant === null || !txId) throw new NotFoundError('No transaction named.');
    await this.transactions.replayOne(txTenant, txId);
    return back(`Replay queued for transaction ${txId}.`);
  }
}
