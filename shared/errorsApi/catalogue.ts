import { CATALOGUE, findEntry } from '../diagnostics/catalogue';
import { RETRY_LABEL } from '../diagnostics/render';
import type { CatalogueEntry } from '../diagnostics/types';

export interface JsonResponse {
  status: number;
  jsonBody: unknown;
}

function present(e: CatalogueEntry) {
  return { ...e, retryLabel: RETRY_LABEL[e.retry] };
}

/** GET /errors and /errors/{code}: the catalogue with meaning and advice, no tenant data. */
export function catalogueResponse(code: string | undefined): JsonResponse {
  if (code === undefined || code === '') return { status: 200, jsonBody: CATALOGUE.map(present) };
  if (!/^[A-Za-z]{2,8}\d{3}$/.test(code)) {
    return { status: 400, jsonBody: { error: `'${code.slice(0, 40)}' is not a diagnostic code (expected e.g. DSEX030).` } };
  }
  const found = findEntry(code);
  if (!found) return { status: 404, jsonBody: { error: `Unknown code '${code}'.` } };
  return { status: 200, jsonBody: present(found) };
}
