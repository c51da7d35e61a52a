import { createSecretProtector } from '../../../shared/storage/secretProtector';
import { key, TABLES } from '../../../shared/storage/tableClients';
import { appointment, webhookAppointment } from '../messages';
import { scenario, type Scenario } from '../scenario';
import { DEMO_CLIENT_SECRET, EXCHANGE, exchangeConnector, WEBHOOK, webhookConnector } from '../world';

/** The shared connector layer and the message schema: the DSCFG codes, whatever the back office. */

const contoso = EXCHANGE.tenantId;

export const sharedScenarios: readonly Scenario[] = [
  scenario({
    name: 'DSCFG001 an Exchange connector that is not allowed to send',
    rows: ['DSCFG001'],
    short: true,
    async run(ctx) {
      await exchangeConnector(ctx, 'exchange-paused', { allowedToSend: false });
      await ctx.send({ messageId: 'cfg-dscfg001', body: appointment({ tenantId: contoso, connectorId: 'exchange-paused', appointmentId: 'APT-CFG001' }) });
    },
  }),
  scenario({
    name: 'DSCFG002 a webhook connector without a signing secret',
    rows: ['DSCFG002'],
    async run(ctx) {
      await webhookConnector(ctx, WEBHOOK.tenantId, 'partner-unsigned', { signingSecret: undefined });
      await ctx.send({ messageId: 'cfg-dscfg002', body: webhookAppointment({ tenantId: WEBHOOK.tenantId, connectorId: 'partner-unsigned', appointmentId: 'APT-CFG002' }) });
    },
  }),
  scenario({
    name: 'DSCFG003 a message for a connector that does not exist',
    rows: ['DSCFG003'],
    short: true,
    async run(ctx) {
      await ctx.send({ messageId: 'cfg-dscfg003', body: appointment({ tenantId: contoso, connectorId: 'exchange-retired', appointmentId: 'APT-CFG003' }) });
    },
  }),
  scenario({
    name: 'DSCFG004 a message that is not valid JSON, and one with mistyped fields',
    rows: ['DSCFG004', 'DSCFG004'],
    short: true,
    async run(ctx) {
      await Promise.all([
        ctx.send({ messageId: 'cfg-dscfg004-json', body: '{"schemaVersion":1,"tenantId":"contoso","action":"create"' }),
        ctx.send({
          messageId: 'cfg-dscfg004-fields',
          body: { ...appointment({ tenantId: contoso, connectorId: EXCHANGE.connectorId, appointmentId: 'APT-CFG004' }), appointmentVersion: 'three', start: { dateTime: 'tomorrow', timeZone: 'UTC' } },
        }),
      ]);
    },
  }),
  scenario({
    name: 'DSCFG005 a connector stored with a type this app does not deliver to',
    rows: ['DSCFG005'],
    async run(ctx) {
      await exchangeConnector(ctx, 'exchange-business-central', { type: 'BusinessCentral' });
      await ctx.send({ messageId: 'cfg-dscfg005', body: appointment({ tenantId: contoso, connectorId: 'exchange-business-central', appointmentId: 'APT-CFG005' }) });
    },
  }),
  scenario({
    name: 'DSCFG006 a client secret protected with a key that was rotated away',
    rows: ['DSCFG006'],
    async run(ctx) {
      await exchangeConnector(ctx, 'exchange-rotated-key', {});
      const otherKey = createSecretProtector(Buffer.alloc(32, 9));
      const table = await ctx.tables.table(TABLES.connectors);
      await table.updateEntity({ partitionKey: key(contoso), rowKey: key('exchange-rotated-key'), protectedClientSecret: otherKey.protect(DEMO_CLIENT_SECRET) }, 'Merge');
      await ctx.send({ messageId: 'cfg-dscfg006', body: appointment({ tenantId: contoso, connectorId: 'exchange-rotated-key', appointmentId: 'APT-CFG006' }) });
    },
  }),
  scenario({
    name: 'DSCFG007 a national-cloud Graph override that is not https',
    rows: ['DSCFG007'],
    async run(ctx) {
      await exchangeConnector(ctx, 'exchange-gov-cloud', { graphBaseUrl: 'http://graph.microsoft.us' });
      await ctx.send({ messageId: 'cfg-dscfg007', body: appointment({ tenantId: contoso, connectorId: 'exchange-gov-cloud', appointmentId: 'APT-CFG007' }) });
    },
  }),
];
