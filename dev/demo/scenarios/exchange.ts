import { appointment, JANE } from '../messages';
import { scenario, type Scenario } from '../scenario';
import { ENTRA_TENANT, EXCHANGE, exchangeConnector, MAILBOXES, type DemoContext } from '../world';

/** Exchange through Microsoft Graph: every DSEX code, from the simulator's real error answers. */

const main = { tenantId: EXCHANGE.tenantId, connectorId: EXCHANGE.connectorId };

/** One create for one connector, settled. */
async function createFor(ctx: DemoContext, connectorId: string, id: string, resources = [JANE]): Promise<void> {
  await ctx.send({ messageId: id, body: appointment({ tenantId: EXCHANGE.tenantId, connectorId, appointmentId: `APT-${id}`, resources }) });
}

export const exchangeScenarios: readonly Scenario[] = [
  scenario({
    name: 'Exchange: appointments written to Jane\'s calendar',
    rows: ['Succeeded', 'Succeeded'],
    short: true,
    async run(ctx) {
      await Promise.all([
        ctx.send({ messageId: 'ex-ok-1', body: appointment({ ...main, appointmentId: 'APT-1001', subject: 'Boiler maintenance' }) }),
        ctx.send({ messageId: 'ex-ok-2', body: appointment({ ...main, appointmentId: 'APT-1002', subject: 'Heat pump inspection' }) }),
      ]);
    },
  }),
  scenario({
    name: 'DSEX001 the client secret has expired (AADSTS7000222)',
    rows: ['DSEX001'],
    async run(ctx) {
      await exchangeConnector(ctx, 'exchange-expired', { app: { secretExpired: true } });
      await createFor(ctx, 'exchange-expired', 'ex-dsex001');
    },
  }),
  scenario({
    name: 'DSEX002 the secret ID was pasted instead of the secret value (AADSTS7000215)',
    rows: ['DSEX002'],
    short: true,
    async run(ctx) {
      await exchangeConnector(ctx, 'exchange-secret-id', { clientSecret: '8f1c2d3e-0000-4000-8000-5ecre7id0000' });
      await createFor(ctx, 'exchange-secret-id', 'ex-dsex002');
    },
  }),
  scenario({
    name: 'DSEX003 the app registration does not exist in the tenant (AADSTS700016)',
    rows: ['DSEX003'],
    async run(ctx) {
      await exchangeConnector(ctx, 'exchange-deleted-app', { app: false });
      await createFor(ctx, 'exchange-deleted-app', 'ex-dsex003');
    },
  }),
  scenario({
    name: 'DSEX004 an unknown tenant (AADSTS90002) and a malformed one (checked before any call)',
    rows: ['DSEX004', 'DSEX004'],
    async run(ctx) {
      await exchangeConnector(ctx, 'exchange-other-tenant', { entraTenantId: '0badc0de-0000-4000-8000-000000000000', app: false });
      await exchangeConnector(ctx, 'exchange-typo-tenant', { entraTenantId: 'contoso tenant!', app: false });
      await Promise.all([createFor(ctx, 'exchange-other-tenant', 'ex-dsex004-unknown'), createFor(ctx, 'exchange-typo-tenant', 'ex-dsex004-malformed')]);
    },
  }),
  scenario({
    name: 'DSEX005 the service principal is disabled (AADSTS7000112)',
    rows: ['DSEX005'],
    async run(ctx) {
      await exchangeConnector(ctx, 'exchange-disabled-app', { app: { disabled: true } });
      await createFor(ctx, 'exchange-disabled-app', 'ex-dsex005');
    },
  }),
  scenario({
    name: 'DSEX006 client id and secret never filled in',
    rows: ['DSEX006'],
    async run(ctx) {
      await exchangeConnector(ctx, 'exchange-incomplete', { app: false, clientId: '', clientSecret: undefined });
      await createFor(ctx, 'exchange-incomplete', 'ex-dsex006');
    },
  }),
  scenario({
    name: 'DSEX010 Graph rejects the token at call time (401)',
    rows: ['DSEX010'],
    async run(ctx) {
      ctx.sim.injectGraphFault({ kind: 'unauthorized' }, { mailbox: MAILBOXES.unauthorized, times: 1 });
      await createFor(ctx, EXCHANGE.connectorId, 'ex-dsex010', [{ number: 'R010', name: 'Audit room', email: MAILBOXES.unauthorized, exchangeEnabled: true }]);
    },
  }),
  scenario({
    name: 'DSEX011 no resource on the appointment has Exchange enabled',
    rows: ['DSEX011', 'DSEX011'],
    short: true,
    async run(ctx) {
      await Promise.all([
        createFor(ctx, EXCHANGE.connectorId, 'ex-dsex011-disabled', [
          { number: 'R007', name: 'Van 7', exchangeEnabled: false },
          { number: 'R008', name: 'Crane', exchangeEnabled: false },
        ]),
        createFor(ctx, EXCHANGE.connectorId, 'ex-dsex011-none', []),
      ]);
    },
  }),
  scenario({
    name: 'DSEX012 a resource e-mail that is no user, and a user without a mailbox',
    rows: ['DSEX012', 'DSEX012'],
    async run(ctx) {
      await Promise.all([
        createFor(ctx, EXCHANGE.connectorId, 'ex-dsex012-ghost', [{ number: 'R404', name: 'Ghost', email: 'ghost@contoso.com', exchangeEnabled: true }]),
        createFor(ctx, EXCHANGE.connectorId, 'ex-dsex012-nobox', [{ number: 'R405', name: 'Facilities', email: MAILBOXES.noMailbox, exchangeEnabled: true }]),
      ]);
    },
  }),
  scenario({
    name: 'DSEX020 an update for an appointment whose event was never mapped',
    rows: ['DSEX020'],
    short: true,
    async run(ctx) {
      await ctx.send({ messageId: 'ex-dsex020', body: appointment({ ...main, appointmentId: 'APT-NOMAP', action: 'update', appointmentVersion: 2 }) });
    },
  }),
  scenario({
    name: 'DSEX021 a delete after the user already deleted the event in Outlook',
    rows: ['Succeeded', 'DSEX021'],
    async run(ctx) {
      await ctx.send({ messageId: 'ex-dsex021-create', body: appointment({ ...main, appointmentId: 'APT-GONE', subject: 'Site visit' }) });
      // The user deletes the event in Outlook: a real Graph DELETE, outside the connector.
      const mapping = await ctx.mappings.get(EXCHANGE.tenantId, EXCHANGE.connectorId, 'APT-GONE', JANE.number);
      if (!mapping) throw new Error('DSEX021 scenario: the create left no event mapping');
      const { accessToken } = ctx.sim.issueToken(ENTRA_TENANT, EXCHANGE.clientId);
      const gone = await fetch(`${ctx.sim.url}/v1.0/users/${MAILBOXES.jane}/events/${mapping.eventId}`, { method: 'DELETE', headers: { authorization: `Bearer ${accessToken}` } });
      if (gone.status !== 204) throw new Error(`DSEX021 scenario: Outlook delete answered ${gone.status}`);
      await ctx.send({ messageId: 'ex-dsex021-delete', body: appointment({ ...main, appointmentId: 'APT-GONE', action: 'delete', appointmentVersion: 2 }) });
    },
  }),
  scenario({
    name: 'DSEX030 the app registration lacks Calendars.ReadWrite consent',
    rows: ['DSEX030'],
    short: true,
    async run(ctx) {
      await exchangeConnector(ctx, 'exchange-no-consent', { app: { graphPermission: false } });
      await createFor(ctx, 'exchange-no-consent', 'ex-dsex030');
    },
  }),
  scenario({
    name: 'DSEX040 Graph answers 503 on every attempt of the invocation',
    rows: ['DSEX040'],
    async run(ctx) {
      ctx.sim.injectGraphFault({ kind: 'unavailable' }, { mailbox: MAILBOXES.unavailable, times: 3 });
      await createFor(ctx, EXCHANGE.connectorId, 'ex-dsex040', [{ number: 'R040', name: 'Dispatch desk', email: MAILBOXES.unavailable, exchangeEnabled: true }]);
    },
  }),
  scenario({
    name: 'DSUNK001 a Graph answer no rule knows (400 ErrorInvalidIdMalformed)',
    rows: ['DSUNK001'],
    async run(ctx) {
      ctx.sim.injectGraphFault({ kind: 'error', status: 400, code: 'ErrorInvalidIdMalformed', message: 'Id is malformed.' }, { mailbox: MAILBOXES.malformed, times: 1 });
      await createFor(ctx, EXCHANGE.connectorId, 'ex-dsunk001', [{ number: 'R099', name: 'Legacy sync', email: MAILBOXES.malformed, exchangeEnabled: true }]);
    },
  }),
];
