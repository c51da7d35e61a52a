import type { CatalogueEntry } from '../../diagnostics/types';
import { RETRY_LABEL } from '../../diagnostics/render';
import { html, url } from './escape';
import { page } from './layout';

export function renderExplainPage(e: CatalogueEntry, backPath: string, functionKey?: string): string {
  const steps = e.action.length === 1 ? html`<p>${e.action[0]}</p>` : html`<ol>${e.action.map((s) => html`<li>${s}</li>`)}</ol>`;
  return page(
    `${e.code} — ${e.title}`,
    html`<section id="explanation"><h2>${e.code} — ${e.title}</h2>
<p><span class="status ${e.status}">${e.status}</span> <span class="muted">Retry: ${e.retry} (${RETRY_LABEL[e.retry]})</span></p>
<h2>💡 What it means</h2><p>${e.meaning}</p>
<h2>🛠️ What to do</h2>${steps}${e.note ? html`<p class="muted">⚠️ ${e.note}</p>` : ''}
<p><a href="${url(backPath, { code: functionKey, errorCode: e.code })}">Show transactions with ${e.code}</a></p></section>`,
  );
}
