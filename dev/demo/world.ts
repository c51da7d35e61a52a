import { randomBytes } from 'node:crypto';
import type { EntraGraphSimulator } from '../simulators/entraGraph';
import type { PartnerSimulator } from '../simulators/partner';
import type { TableFaultProxy } from '../simulators/tableFaults';
import type { ConnectorInput, ConnectorStore } from '../../shared/storage/connectors';
import type { EventMappingStore } from '../../shared/storage/eventMappings';
import type { TableProvider } from '../../shared/storage/tableClients';

/**
 * The demo's world: two customers of the scheduling platform and their back offices.
 *  - contoso syncs to Exchange: an Entra tenant with an app registration and mailboxes on the
 *    Entra + Graph simulator;
 *  - fabrikam and northwind post to partner webhooks on the partner simulator.
 * Scenarios (scenarios/*.ts) add their own, deliberately broken, connectors next to the healthy ones.
 */
export const ENTRA_TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
export const EXCHANGE = { tenantId: 'contoso', connectorId: 'exchange-main', clientId: '11111111-1111-4111-8111-111111111111' } as const;
export const WEBHOOK = { tenantId: 'fabrikam', connectorId: 'partner-main' } as const;
export const STORAGE_TENANT = 'northwind';
export const MAILBOXES = {
  jane: 'jane@contoso.com',
  noMailbox: 'facilities@contoso.com',
  /** mailboxes whose Graph requests the scenarios fault (faults are scoped by mailbox) */
  unauthorized: 'audit@contoso.com',
  unavailable: 'dispatch@contoso.com',
  malformed: 'legacy-sync@contoso.com',
} as const;

/** The simulators and the product's own stores the demo seeds through. */
export interface DemoWorld {
  sim: EntraGraphSimulator;
  partner: PartnerSimulator;
  tableFaults: TableFaultProxy;
  tables: TableProvider;
  connectors: ConnectorStore;
  mappings: EventMappingStore;
  /** the connector secret the partner simulator verifies signatures with */
  partnerSecret: string;
  /** WEBHOOK_BREAKER_FAILURE_THRESHOLD as the app reads it */
  breakerThreshold: number;
}

/** Everything a scenario may use: the world, and the queue. */
export interface DemoContext extends DemoWorld {
  /** Sends one message to the appointments queue; resolves once the host has settled it. */
  send(message: { messageId: string; body: unknown }): Promise<Settled>;
}

export interface Settled {
  messageId: string;
  /** completed, or dead-lettered after the queue's max delivery count */
  outcome: 'completed' | 'dead-lettered';
  deliveries: number;
}

export function newPartnerSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

let clientSeq = 0;
/** A client id of its own for a scenario's app registration. */
export function nextClientId(): string {
  clientSeq += 1;
  return `00000000-0000-4000-8000-${String(clientSeq).padStart(12, '0')}`;
}

export const DEMO_CLIENT_SECRET = 'Qx8~demo-client-secret-value';

/** An Exchange connector of contoso (by default with a matching, healthy app registration). */
export async function exchangeConnector(
  ctx: DemoWorld,
  connectorId: string,
  overrides: Partial<ConnectorInput> & { app?: Partial<{ secretExpired: boolean; disabled: boolean; graphPermission: boolean }> | false } = {},
): Promise<void> {
  const { app, ...input } = overrides;
  const clientId = input.clientId ?? nextClientId();
  if (app !== false) ctx.sim.addApp({ tenantId: ENTRA_TENANT, clientId, clientSecret: DEMO_CLIENT_SECRET, displayName: `Scheduling sync (${connectorId})`, ...app });
  await ctx.connectors.save({
    tenantId: EXCHANGE.tenantId,
    connectorId,
    type: 'Exchange',
    name: connectorId,
    allowedToSend: true,
    entraTenantId: ENTRA_TENANT,
    clientId,
    clientSecret: DEMO_CLIENT_SECRET,
    ...input,
  });
}

/** A Webhook connector posting to /hooks/<connectorId> on the partner simulator; returns that path. */
export async function webhookConnector(ctx: DemoWorld, tenantId: string, connectorId: string, overrides: Partial<ConnectorInput> = {}): Promise<string> {
  const path = `/hooks/${connectorId}`;
  await ctx.connectors.save({
    tenantId,
    connectorId,
    type: 'Webhook',
    name: connectorId,
    allowedToSend: true,
    webhookUrl: `${ctx.partner.url}${path}`,
    signingSecret: ctx.partnerSecret,
    ...overrides,
  });
  return path;
}

/** The healthy part of the world; scenarios add the broken parts. */
export async function seedWorld(ctx: DemoWorld): Promise<void> {
  ctx.sim.addTenant({ tenantId: ENTRA_TENANT, domains: ['contoso.onmicrosoft.com'] });
  for (const upn of [MAILBOXES.jane, MAILBOXES.unauthorized, MAILBOXES.unavailable, MAILBOXES.malformed]) ctx.sim.addMailbox(upn, { tenantId: ENTRA_TENANT });
  ctx.sim.addMailbox(MAILBOXES.noMailbox, { tenantId: ENTRA_TENANT, mailboxEnabled: false });
  await exchangeConnector(ctx, EXCHANGE.connectorId, { clientId: EXCHANGE.clientId, name: 'Contoso Exchange Online' });
  await webhookConnector(ctx, WEBHOOK.tenantId, WEBHOOK.connectorId, { name: 'Fabrikam field-service portal' });
  await webhookConnector(ctx, STORAGE_TENANT, 'partner-main', { name: 'Northwind dispatch' });
}
