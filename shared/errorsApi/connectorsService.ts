import { z } from 'zod';
import type { ConnectorStore } from '../storage/connectors';
import { presentConnector } from './present';
import { parseWith } from './transactionFilter';
import { NotFoundError } from './errors';

const optionalText = (max: number) => z.string().trim().max(max).optional();

/**
 * What an operator may set on a connector. The type is free text on purpose: the gate diagnoses an
 * unknown type (DSCFG005), and operators must be able to repair a stale one by saving a new value.
 */
export const connectorBodySchema = z
  .object({
    type: z.string().trim().min(1, 'type is required').max(50),
    name: z.string().trim().min(1, 'name is required').max(200),
    allowedToSend: z.boolean({ error: 'allowedToSend must be true or false' }),
    entraTenantId: optionalText(200),
    clientId: optionalText(200),
    clientSecret: z.string().max(1000).optional(),
    graphBaseUrl: optionalText(500),
    authorityHost: optionalText(500),
    webhookUrl: optionalText(2000),
    signingSecret: z.string().max(1000).optional(),
    timeoutMs: z.number().int().min(100).max(120_000).optional(),
  })
  .strict();

export class ConnectorsService {
  constructor(private readonly store: ConnectorStore) {}

  async get(tenantId: string, connectorId: string) {
    const found = await this.store.get(tenantId, connectorId);
    if (!found) throw new NotFoundError(`No connector '${connectorId}' for tenant '${tenantId}'.`);
    return presentConnector(found);
  }

  /** Create or edit; every save bumps configVersion, which lets the retry job replay fix-config rows. */
  async save(tenantId: string, connectorId: string, body: unknown) {
    const input = parseWith(connectorBodySchema, body);
    const saved = await this.store.save({ ...input, tenantId, connectorId });
    return presentConnector(saved);
  }
}
