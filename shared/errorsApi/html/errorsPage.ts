import { CATALOGUE } from '../../diagnostics/catalogue';
import { STATUSES } from '../../diagnostics/types';
import type { GiveUpReason, TransactionRecord } from '../../storage/transactions';
import type { Summary } from '../transactionsService';
import { html, url } from './escape';
import { page } from './layout';

export const SINCE_OPTIONS = { '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000, '14d': 14 * 86_400_000, all: 0 } as const;
export type Since = keyof typeof SINCE_OPTIONS;

/** What the page shows; the handler fills it from the services. */
export interface ErrorsPageModel {
  functionKey?: string;
  filter: { tenant?: string; connector?: string; status?: string; errorCode?: string; since: Since; includeArchived: boolean; sort: 'asc' | 'desc' };
  records: TransactionRecord[];
  summary: Summary;
  truncated: boolean;
  notice?: string;
  basePath: string;
}

function filterParams(m: ErrorsPageModel, overrides: Record<string, string | undefined> = {}) {
  const f = m.filter;
  return {
    code: m.functionKey,
    tenant: f.tenant,
    connector: f.connector,
    status: f.status,
    errorCode: f.errorCode,
    since: f.since,
    includeArchived: f.includeArchived ? 'true' : undefined,
    sort: f.sort,
    ...overrides,
  };
}

function options(values: readonly string[], selected: string | undefined, anyLabel: string) {
  return [html`<option value="">${anyLabel}</option>`, ...values.map((v) => html`<option value="${v}"${v === selected ? html` selected` : ''}>${v}</option>`)];
}

function hiddenFilter(m: ErrorsPageModel) {
  return Object.entries(filterParams(m))
    .filter(([k, v]) => v !== undefined && k !== 'code')
    .map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`);
}

function filters(m: ErrorsPageModel) {
  const f = m.filter;
  return html`<section><h2>Filters</h2>
<form class="filters" method="get" action="${m.basePath}">
  ${m.functionKey ? html`<input type="hidden" name="code" value="${m.functionKey}">` : ''}
  <label>Error code<select name="errorCode" id="filter-code">${options(CATALOGUE.map((e) => e.code), f.errorCode, 'any code')}</select></label>
  <label>Status<select name="status" id="filter-status">${options([...STATUSES, 'Succeeded', 'Superseded'], f.status, 'any failure')}</select></label>
  <label>Tenant<input name="tenant" value="${f.tenant ?? ''}" size="14"></label>
  <label>Connector<input name="connector" value="${f.connector ?? ''}" size="14"></label>
  <label>Time<select name="since">${Object.keys(SINCE_OPTIONS).map((s) => html`<option value="${s}"${s === f.since ? html` selected` : ''}>${s === 'all' ? 'any time' : `last ${s}`}</option>`)}</select></label>
  <label><span><input type="checkbox" name="includeArchived" value="true"${f.includeArchived ? html` checked` : ''}> show archived</span></label>
  <button class="primary" type="submit" id="apply-filters">Apply</button>
</form></section>`;
}

function groups(m: ErrorsPageModel) {
  if (m.summary.byCode.length === 0) return html`<section><h2>By code</h2><p class="muted">No failures match.</p></section>`;
  return html`<section><h2>By code</h2><table id="groups"><thead><tr><th>Code</th><th>Title</th><th>Status</th><th>Retry</th><th>Count</th><th></th></tr></thead><tbody>
${m.summary.byCode.map(
  (g) => html`<tr data-code="${g.code}"><td><a href="${url(`${m.basePath}/codes/${g.code}`, { code: m.functionKey })}">${g.code}</a></td><td>${g.title}</td>
<td><span class="status ${g.status}">${g.status}</span></td><td>${g.retry}</td><td>${g.count}</td>
<td><form class="inline" method="post" action="${url(`${m.basePath}/replay`, { code: m.functionKey })}">${hiddenFilter(m)}<input type="hidden" name="errorCode" value="${g.code}"><button type="submit" name="scope" value="group">Replay all ${g.count}</button></form></td></tr>`,
)}
</tbody></table>${m.summary.truncated ? html`<p class="muted">Counted the first ${m.summary.scanned} rows only.</p>` : ''}</section>`;
}

/** Why the retry job will not replay a row: an operator can still replay it once the cause is fixed. */
const GIVEN_UP: Record<GiveUpReason, string> = {
  'window-ended': 'not retried automatically: the 14-day retry window ended',
  superseded: 'not retried automatically: a newer version of the appointment was taken up',
  'no-payload': 'not retried automatically: no stored message to replay',
};

function givenUpNote(r: TransactionRecord) {
  if (!r.expired) return '';
  return html`<br><span class="muted given-up">${GIVEN_UP[r.givenUpReason ?? 'window-ended']}</span>`;
}

function rows(m: ErrorsPageModel) {
  const nextSort = m.filter.sort === 'desc' ? 'asc' : 'desc';
  const arrow = m.filter.sort === 'desc' ? '▼' : '▲';
  return html`<section><h2>Transactions (${m.records.length}${m.truncated ? '+' : ''})</h2>
<table id="transactions"><thead><tr>
<th><a id="sort-time" href="${url(m.basePath, filterParams(m, { sort: nextSort }))}">Time ${arrow}</a></th><th>Status</th><th>Code</th><th>Message</th><th>Tenant / connector</th><th>Appointment</th><th>Source</th><th>Attempts</th><th></th>
</tr></thead><tbody>
${m.records.map(
  (r) => html`<tr data-transaction="${r.transactionId}">
<td><time datetime="${r.lastAttemptAt}">${r.lastAttemptAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}</time></td>
<td><span class="status ${r.status}">${r.status}</span>${r.archived ? html` <span class="muted">archived</span>` : ''}${givenUpNote(r)}</td>
<td>${r.code ? html`<a class="code" href="${url(`${m.basePath}/codes/${r.code}`, { code: m.functionKey })}">${r.code}</a>` : ''}</td>
<td class="msg">${r.message}</td>
<td>${r.tenantId}<br><span class="muted">${r.connectorId ?? ''}</span></td>
<td>${r.appointmentId ?? ''}${r.appointmentVersion !== undefined ? html` <span class="muted">v${r.appointmentVersion}</span>` : ''}</td>
<td>${r.source}</td><td>${r.attempts}</td>
<td><form class="inline" method="post" action="${url(`${m.basePath}/replay`, { code: m.functionKey })}">${hiddenFilter(m)}<input type="hidden" name="txTenant" value="${r.tenantId}"><input type="hidden" name="txId" value="${r.transactionId}"><button type="submit" name="scope" value="one"${r.archived || !r.payload ? html` disabled` : ''}>Replay</button></form>
<form class="inline" method="post" action="${url(`${m.basePath}/archive`, { code: m.functionKey })}">${hiddenFilter(m)}<input type="hidden" name="txTenant" value="${r.tenantId}"><input type="hidden" name="txId" value="${r.transactionId}"><input type="hidden" name="archived" value="${r.archived ? 'false' : 'true'}"><button type="submit">${r.archived ? 'Unarchive' : 'Archive'}</button></form></td>
</tr>`,
)}
</tbody></table></section>`;
}

export function renderErrorsPage(m: ErrorsPageModel): string {
  return page(
    'Transaction Errors',
    html`${m.notice ? html`<div class="notice" id="notice">${m.notice}</div>` : ''}${filters(m)}${groups(m)}${rows(m)}`,
  );
}
