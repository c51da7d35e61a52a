import type { PipelinePolicy } from '@azure/core-rest-pipeline';

/** A table and how it was read: `query` (listEntities, a page of many) or `point` (getEntity, one). */
export type ReadKind = 'query' | 'point';

export interface TableReads {
  table: string;
  kind: ReadKind;
  /** entities carried by successful GET responses: a query page's `value`, or the one entity of a point read */
  entities: number;
  requests: number;
}

/**
 * Counts what storage actually returned, per table and kind of read, from the HTTP responses
 * themselves: a pipeline policy on every TableClient parses each GET's body. Nothing is inferred from
 * what the code asked for.
 */
export class EntityCounter {
  private reads = new Map<string, TableReads>();
  private counting = false;

  readonly policy: PipelinePolicy = {
    name: 'benchEntityCounter',
    sendRequest: async (request, next) => {
      const response = await next(request);
      if (this.counting && request.method === 'GET' && response.status === 200) {
        const { table, kind } = readOf(request.url);
        const id = `${table} ${kind}`;
        const reads = this.reads.get(id) ?? { table, kind, entities: 0, requests: 0 };
        reads.requests += 1;
        reads.entities += entitiesIn(response.bodyAsText);
        this.reads.set(id, reads);
      }
      return response;
    },
  };

  /** Counts only while `fn` runs (not while seeding), and returns what was read meanwhile. */
  async measure<T>(fn: () => Promise<T>): Promise<{ result: T; reads: TableReads[]; ms: number }> {
    this.reads = new Map();
    this.counting = true;
    const started = performance.now();
    try {
      const result = await fn();
      return { result, reads: [...this.reads.values()], ms: performance.now() - started };
    } finally {
      this.counting = false;
    }
  }
}

/** `/devstoreaccount1/Transactions(PartitionKey='…',RowKey='…')` is a point read; `/…/Transactions()` a query. */
function readOf(url: string): { table: string; kind: ReadKind } {
  const last = decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '');
  return { table: last.replace(/\(.*$/s, ''), kind: /\(\s*PartitionKey\s*=/.test(last) ? 'point' : 'query' };
}

function entitiesIn(body: string | null | undefined): number {
  if (!body) return 0;
  const parsed = JSON.parse(body) as { value?: unknown[]; PartitionKey?: string };
  if (Array.isArray(parsed.value)) return parsed.value.length;
  return parsed.PartitionKey === undefined ? 0 : 1;
}

export function entitiesRead(reads: readonly TableReads[], filter: Partial<Pick<TableReads, 'table' | 'kind'>> = {}): number {
  return reads.filter((r) => (filter.table ?? r.table) === r.table && (filter.kind ?? r.kind) === r.kind).reduce((sum, r) => sum + r.entities, 0);
}

export function describeReads(reads: readonly TableReads[]): string {
  return [...reads]
    .sort((a, b) => a.kind.localeCompare(b.kind) || a.table.localeCompare(b.table))
    .map((r) => `${r.table} ${r.kind} ${r.entities.toLocaleString('en-US')} (${r.requests.toLocaleString('en-US')} GET)`)
    .join(', ');
}
