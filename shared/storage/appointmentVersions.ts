import type { TableClient } from '@azure/data-tables';
import { getOrUndefined, key, TABLES, type TableProvider } from './tableClients';

export type Claim = { claimed: true } | { claimed: false; latestVersion: number };

/**
 * The newest version of each appointment that was taken up. A message claims its version before it
 * touches the back office, so an older version that arrives late is recognised and never applied.
 */
export class AppointmentVersionStore {
  constructor(private readonly tables: TableProvider) {}

  private client(): Promise<TableClient> {
    return this.tables.table(TABLES.appointments);
  }

  async latest(tenantId: string, connectorId: string, appointmentId: string): Promise<number | undefined> {
    const entity = await getOrUndefined<{ latestVersion: number }>(await this.client(), key(tenantId, connectorId), key(appointmentId));
    return entity?.latestVersion;
  }

  /**
   * `expectNew`: the appointment most likely has no version yet (a create), so the insert is tried
   * before any read — one round-trip instead of two; an existing version answers 409 and the claim
   * then reads and decides as usual.
   */
  async claim(tenantId: string, connectorId: string, appointmentId: string, version: number, options: { expectNew?: boolean } = {}): Promise<Claim> {
    const client = await this.client();
    const partitionKey = key(tenantId, connectorId);
    const rowKey = key(appointmentId);
    if (options.expectNew) {
      try {
        await client.createEntity({ partitionKey, rowKey, latestVersion: version, claimedAt: new Date().toISOString() });
        return { claimed: true };
      } catch (error) {
        if ((error as { statusCode?: number }).statusCode !== 409) throw error;
      }
    }
    for (let attempt = 0; ; attempt += 1) {
      const current = await getOrUndefined<{ latestVersion: number }>(client, partitionKey, rowKey);
      if (current && current.latestVersion > version) return { claimed: false, latestVersion: current.latestVersion };
      if (current && current.latestVersion === version) return { claimed: true };
      try {
        const entity = { partitionKey, rowKey, latestVersion: version, claimedAt: new Date().toISOString() };
        if (current) await client.updateEntity(entity, 'Replace', { etag: current.etag });
        else await client.createEntity(entity);
        return { claimed: true };
      } catch (error) {
        const status = (error as { statusCode?: number }).statusCode;
        if ((status === 412 || status === 409) && attempt < 5) continue; // someone else claimed: decide again
        throw error;
      }
    }
  }
}
