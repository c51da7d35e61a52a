import type { TableClient } from '@azure/data-tables';
import type { SecretProtector } from './secretProtector';
import { getOrUndefined, key, TABLES, type TableProvider } from './tableClients';

export const CONNECTOR_TYPES = ['Exchange', 'Webhook'] as const;
export type ConnectorType = (typeof CONNECTOR_TYPES)[number];

/** A connector as stored: secrets stay in their protected form until a pipeline needs them. */
export interface StoredConnector {
  tenantId: string;
  connectorId: string;
  /** kept as stored: an unknown or legacy value is diagnosed by the pipeline, not hidden here */
  type: string;
  name: string;
  allowedToSend: boolean;
  configVersion: number;
  updatedAt: string;
  entraTenantId?: string;
  clientId?: string;
  protectedClientSecret?: string;
  graphBaseUrl?: string;
  authorityHost?: string;
  webhookUrl?: string;
  protectedSigningSecret?: string;
  timeoutMs?: number;
}

export type ConnectorVersion = Pick<StoredConnector, 'tenantId' | 'connectorId' | 'configVersion' | 'updatedAt'>;

/** What an operator (or the seed) supplies; secrets in plain text, write-only. */
export interface ConnectorInput {
  tenantId: string;
  connectorId: string;
  type: string;
  name: string;
  allowedToSend: boolean;
  entraTenantId?: string;
  clientId?: string;
  clientSecret?: string;
  graphBaseUrl?: string;
  authorityHost?: string;
  webhookUrl?: string;
  signingSecret?: string;
  timeoutMs?: number;
}

interface ConnectorEntity extends Omit<StoredConnector, 'tenantId' | 'connectorId'> {
  partitionKey: string;
  rowKey: string;
  tenantId: string;
  connectorId: string;
}

export class ConnectorStore {
  constructor(
    private readonly tables: TableProvider,
    private readonly protector: SecretProtector,
  ) {}

  private client(): Promise<TableClient> {
    return this.tables.table(TABLES.connectors);
  }

  async get(tenantId: string, connectorId: string): Promise<StoredConnector | undefined> {
    const entity = await getOrUndefined<ConnectorEntity>(await this.client(), key(tenantId), key(connectorId));
    if (!entity) return undefined;
    const { partitionKey: _p, rowKey: _r, etag: _e, ...rest } = entity as ConnectorEntity & { etag: string; timestamp?: string };
    delete (rest as { timestamp?: string }).timestamp;
    return rest as StoredConnector;
  }

  /** Every connector's config version, without secrets: what the retry sweep compares rows against. */
  async *versions(): AsyncIterable<ConnectorVersion> {
    const client = await this.client();
    const select = ['tenantId', 'connectorId', 'configVersion', 'updatedAt'];
    for await (const e of client.listEntities<ConnectorVersion>({ queryOptions: { select } })) {
      yield { tenantId: e.tenantId, connectorId: e.connectorId, configVersion: Number(e.configVersion), updatedAt: e.updatedAt };
    }
  }

  /**
   * Creates or edits a connector. Every save bumps configVersion: that is what tells the retry sweep
   * a fix-config row may now succeed. An omitted secret keeps the stored one.
   */
  async save(input: ConnectorInput): Promise<StoredConnector> {
    const client = await this.client();
    for (let attempt = 0; ; attempt += 1) {
      const current = await getOrUndefined<ConnectorEntity>(client, key(input.tenantId), key(input.connectorId));
      const { clientSecret, signingSecret, ...plain } = input;
      const next: StoredConnector = {
        ...plain,
        configVersion: (current?.configVersion ?? 0) + 1,
        updatedAt: new Date().toISOString(),
        protectedClientSecret: clientSecret !== undefined ? this.protector.protect(clientSecret) : current?.protectedClientSecret,
        protectedSigningSecret: signingSecret !== undefined ? this.protector.protect(signingSecret) : current?.protectedSigningSecret,
      };
      const entity = { partitionKey: key(input.tenantId), rowKey: key(input.connectorId), ...dropUndefined(next) };
      try {
        if (current) await client.updateEntity(entity, 'Replace', { etag: current.etag });
        else await client.createEntity(entity);
        return next;
      } catch (error) {
        const status = (error as { statusCode?: number }).statusCode;
        // Two editors at once: re-read and apply on top, so no version number is handed out twice.
        if ((status === 412 || status === 409) && attempt < 4) continue;
        throw error;
      }
    }
  }
}

export function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
