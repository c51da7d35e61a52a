import type { ConnectorStore, ConnectorVersion } from '../storage/connectors';
import { configStateKey, type ConfigSweepState, type RetryIndexStore, type StoredIndexEntry } from '../storage/retryIndex';

/**
 * A connector edited less than this long ago is looked at even if a pass already swept its current
 * version: an invocation that loaded the previous version may still be running and record a
 * fix-config row under it after that pass.
 */
export const CONFIG_SETTLE_MS = 60 * 60 * 1000;

export interface Candidate {
  entry: StoredIndexEntry;
  /** set for config entries: the connector whose version change made them due */
  connector?: ConnectorVersion;
}

export interface CandidateSources {
  candidates: AsyncIterable<Candidate>;
  /** connectors whose other-version entries were all handed out, with the version they were compared to */
  drained: ConnectorVersion[];
  connectorVersion(tenantId: string, connectorId: string): number | undefined;
  connectorsLookedAt: number;
}

export function needsLooking(connector: ConnectorVersion, state: ConfigSweepState | undefined): boolean {
  if (!state || state.version !== connector.configVersion) return true;
  return Date.parse(state.sweptAt) < Date.parse(connector.updatedAt) + CONFIG_SETTLE_MS;
}

/**
 * What a pass looks at: due time entries, and the config entries of connectors whose version changed
 * since they were last swept — interleaved, so a backlog in one never starves the other under the
 * pass's row bound.
 */
export async function candidateSources(index: RetryIndexStore, connectors: ConnectorStore, now: Date): Promise<CandidateSources> {
  const [all, states] = await Promise.all([collect(connectors.versions()), index.configSweepStates()]);
  const versions = new Map(all.map((c) => [configStateKey(c.tenantId, c.connectorId), c.configVersion]));
  const changed = all.filter((c) => needsLooking(c, states.get(configStateKey(c.tenantId, c.connectorId))));
  const drained: ConnectorVersion[] = [];

  async function* configEntries(): AsyncIterable<Candidate> {
    for (const connector of changed) {
      for await (const entry of index.otherVersions(connector.tenantId, connector.connectorId, connector.configVersion)) yield { entry, connector };
      drained.push(connector);
    }
  }
  async function* timeEntries(): AsyncIterable<Candidate> {
    for await (const entry of index.dueByTime(now)) yield { entry };
  }

  return {
    candidates: interleave([timeEntries(), configEntries()]),
    drained,
    connectorVersion: (tenantId, connectorId) => versions.get(configStateKey(tenantId, connectorId)),
    connectorsLookedAt: changed.length,
  };
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** Round-robin over several sources until all are done. */
export async function* interleave<T>(sources: AsyncIterable<T>[]): AsyncIterable<T> {
  let live = sources.map((s) => s[Symbol.asyncIterator]());
  while (live.length > 0) {
    const next: AsyncIterator<T>[] = [];
    for (const iterator of live) {
      const step = await iterator.next();
      if (step.done) continue;
      next.push(iterator);
      yield step.value;
    }
    live = next;
  }
}
