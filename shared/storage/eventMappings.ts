import type { TableClient } from '@azure/data-tables';
import { getOrUndefined, key, TABLES, type TableProvider } from './tableClients';

export interface EventMapping {
  eventId: string;
  mailbox: string;
  appointmentVersion: number;
}

/** (tenant, connector, appointment, resource) → the Graph event that represents it. */
export class EventMappingStore {
  constructor(private readonly tables: TableProvider) {}

  private client(): Promise<TableClient> {
    return this.tables.table(TABLES.eventMappings);
  }

  private keys(tenantId: string, connectorId: string, appointmentId: string, resourceNumber: string) {
    return { partitionKey: key(tenantId, connectorId), rowKey: key(appointmentId, resourceNumber) };
  }

  async get(tenantId: string, connectorId: string, appointmentId: string, resourceNumber: string): Promise<EventMapping | undefined> {
    const k = this.keys(tenantId, connectorId, appointmentId, resourceNumber);
    const entity = await getOrUndefined<EventMapping>(await this.client(), k.partitionKey, k.rowKey);
    return entity ? { eventId: entity.eventId, mailbox: entity.mailbox, appointmentVersion: entity.appointmentVersion } : undefined;
  }

  async put(tenantId: string, connectorId: string, appointmentId: string, resourceNumber: string, mapping: EventMapping): Promise<void> {
    await (await this.client()).upsertEntity({ ...this.keys(tenantId, connectorId, appointmentId, resourceNumber), ...mapping }, 'Replace');
  }

  async remove(tenantId: string, connectorId: string, appointmentId: string, resourceNumber: string): Promise<void> {
    const k = this.keys(tenantId, connectorId, appointmentId, resourceNumber);
    try {
      await (await this.client()).deleteEntity(k.partitionKey, k.rowKey);
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode !== 404) throw error;
    }
  }
}
