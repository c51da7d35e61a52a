import { partnerResponses as respond } from '../../simulators/partner';
import { newPartnerSecret, WEBHOOK, webhookConnector, type DemoContext } from '../world';
import { webhookAppointment } from '../messages';
import { scenario, type Scenario } from '../scenario';

/** Partner webhooks (signed, Standard Webhooks): every DSWBHK code and the shared HTTP codes. */

const tenantId = WEBHOOK.tenantId;

async function sendTo(ctx: DemoContext, connectorId: string, id: string): Promise<void> {
  await ctx.send({ messageId: id, body: webhookAppointment({ tenantId, connectorId, appointmentId: `APT-${id}` }) });
}

export const webhookScenarios: readonly Scenario[] = [
  scenario({
    name: 'Webhook: appointments the partner accepts (HTTP 202)',
    rows: ['Succeeded', 'Succeeded'],
    short: true,
    async run(ctx) {
      ctx.partner.setDefault(respond.ok(202), `/hooks/${WEBHOOK.connectorId}`);
      await Promise.all([sendTo(ctx, WEBHOOK.connectorId, 'wh-ok-1'), sendTo(ctx, WEBHOOK.connectorId, 'wh-ok-2')]);
    },
  }),
  scenario({
    name: 'DSWBHK001 the connector may not send to a web service',
    rows: ['DSWBHK001'],
    short: true,
    async run(ctx) {
      await webhookConnector(ctx, tenantId, 'partner-paused', { allowedToSend: false });
      await sendTo(ctx, 'partner-paused', 'wh-dswbhk001');
    },
  }),
  scenario({
    name: 'DSWBHK002 an empty address and one without https',
    rows: ['DSWBHK002', 'DSWBHK002'],
    short: true,
    async run(ctx) {
      await webhookConnector(ctx, tenantId, 'partner-no-url', { webhookUrl: '' });
      await webhookConnector(ctx, tenantId, 'partner-plain-http', { webhookUrl: 'http://partner.example.com/hooks' });
      await Promise.all([sendTo(ctx, 'partner-no-url', 'wh-dswbhk002-empty'), sendTo(ctx, 'partner-plain-http', 'wh-dswbhk002-http')]);
    },
  }),
  scenario({
    name: 'DSWBHK003 a stale connector row of an older, non-webhook type',
    rows: ['DSWBHK003'],
    short: true,
    async run(ctx) {
      await webhookConnector(ctx, tenantId, 'partner-legacy', { type: 'Legacy.BcConnector, Internal.Types' });
      await sendTo(ctx, 'partner-legacy', 'wh-dswbhk003');
    },
  }),
  scenario({
    name: 'DSWBHK010 then DSWBHK030: the partner stops answering, the circuit breaker opens',
    rows: ({ breakerThreshold }) => [...Array<string>(breakerThreshold).fill('DSWBHK010'), 'DSWBHK030'],
    async run(ctx) {
      // A connector timeout of its own keeps the demo quick; WEBHOOK_TIMEOUT_MS applies otherwise.
      const path = await webhookConnector(ctx, tenantId, 'partner-down', { timeoutMs: 300 });
      ctx.partner.setDefault(respond.hang(), path);
      // The breaker counts deliveries in a row: one at a time, as a steady trickle of appointments would arrive.
      for (let i = 1; i <= ctx.breakerThreshold; i += 1) await sendTo(ctx, 'partner-down', `wh-dswbhk010-${i}`);
      await sendTo(ctx, 'partner-down', 'wh-dswbhk030');
    },
  }),
  scenario({
    name: 'DSWBHK020 the partner refuses the payload (422)',
    rows: ['DSWBHK020'],
    async run(ctx) {
      const path = await webhookConnector(ctx, tenantId, 'partner-strict');
      ctx.partner.setDefault(respond.status(422, { error: 'start is required' }), path);
      await sendTo(ctx, 'partner-strict', 'wh-dswbhk020');
    },
  }),
  scenario({
    name: 'DSCFG008 the partner rejects our signature (a signing secret that is not the agreed one)',
    rows: ['DSCFG008'],
    short: true,
    async run(ctx) {
      await webhookConnector(ctx, tenantId, 'partner-old-secret', { signingSecret: newPartnerSecret() });
      await sendTo(ctx, 'partner-old-secret', 'wh-dscfg008');
    },
  }),
  scenario({
    name: 'DSHTTP001 the partner drops the connection on every attempt',
    rows: ['DSHTTP001'],
    async run(ctx) {
      const path = await webhookConnector(ctx, tenantId, 'partner-flaky');
      ctx.partner.setDefault(respond.reset(), path);
      await sendTo(ctx, 'partner-flaky', 'wh-dshttp001');
    },
  }),
];
