import { diagnose, diagnosisOf } from '../diagnostics/classifier';
import { IncompleteCredentialsError, IntegrationDisabledError, MalformedUrlError, NoMappingEntryError, EmptyBackOfficeResponseError } from '../diagnostics/domainErrors';
import type { Diagnosis, DiagnosisContext } from '../diagnostics/types';
import { worstDiagnosis, type Deliverer, type DeliveryRequest, type DeliveryResult } from '../connectors/delivery';
import type { AppointmentMessage, AppointmentResource } from '../messages/appointmentMessage';
import type { StoredConnector } from '../storage/connectors';
import type { EventMapping, EventMappingStore } from '../storage/eventMappings';
import type { SecretProtector } from '../storage/secretProtector';
import type { CredentialCache, ExchangeCredentials } from './credentials';
import { graphTransactionId, toGraphEvent } from './eventBody';
import type { CalendarGateway, GraphCall } from './graphGateway';
import { validateTenantId } from './tenantId';

export interface ExchangeDelivererDeps {
  credentials: CredentialCache;
  calendar: CalendarGateway;
  mappings: EventMappingStore;
  protector: SecretProtector;
  defaults: { graphBaseUrl: string; authorityHost: string };
}

interface Prepared {
  creds: ExchangeCredentials;
  graphBaseUrl: string;
}

/** Event mapping reads started before the connector was read, keyed by mappingKey (see ExchangeDeliverer.prefetch). */
export type MappingReads = ReadonlyMap<string, Promise<EventMapping | undefined>>;

const mappingKey = (tenantId: string, connectorId: string, appointmentId: string, resourceNumber: string) => JSON.stringify([tenantId, connectorId, appointmentId, resourceNumber]);

const isSyncable = (r: AppointmentResource) => r.exchangeEnabled && r.email !== undefined && r.email !== '';

type ResourceOutcome = { resource: AppointmentResource; done: string } | { resource: AppointmentResource; diagnosis: Diagnosis };

const label = (r: AppointmentResource) => `${r.name} (${r.number})`;

function httpsOverride(field: string, value: string | undefined, fallback: string): string {
  if (value === undefined || value.trim() === '') return fallback;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new MalformedUrlError(field, value, 'not a valid URL');
  }
  if (url.protocol !== 'https:') throw new MalformedUrlError(field, value, 'not an https URL');
  return url.toString().replace(/\/$/, '');
}

/** Writes an appointment into each assigned resource's Exchange calendar through Microsoft Graph. */
export class ExchangeDeliverer implements Deliverer<MappingReads> {
  constructor(private readonly deps: ExchangeDelivererDeps) {}

  /**
   * Every action starts by reading each resource's event mapping, and the keys are in the message:
   * the reads go out with the pipeline's first reads, one sequential storage round-trip less per
   * message. Only resources this deliverer would sync are read (a webhook message flags none).
   */
  prefetch(message: AppointmentMessage): MappingReads {
    const reads = new Map<string, Promise<EventMapping | undefined>>();
    for (const resource of message.resources) {
      if (!isSyncable(resource)) continue;
      const ids = [message.tenantId, message.connectorId, message.appointmentId, resource.number] as const;
      const read = this.deps.mappings.get(...ids);
      // Unused when the run ends before delivering; otherwise syncResource awaits it and diagnoses its failure.
      read.catch(() => undefined);
      reads.set(mappingKey(...ids), read);
    }
    return reads;
  }

  async deliver(request: DeliveryRequest<MappingReads>): Promise<DeliveryResult> {
    const { connector } = request;
    const ctx: DiagnosisContext = { connector: 'exchange', tenantId: connector.entraTenantId, clientId: connector.clientId };
    try {
      const prepared = this.prepare(connector);
      ctx.secrets = [prepared.creds.clientSecret];
      const resources = this.syncableResources(request.message);
      const accessToken = await this.deps.credentials.token(
        { tenantId: connector.tenantId, connectorId: connector.connectorId, configVersion: connector.configVersion },
        prepared.creds,
        prepared.graphBaseUrl,
      );
      const outcomes = await Promise.all(
        resources.map((resource) => this.syncResource(request, resource, { baseUrl: prepared.graphBaseUrl, accessToken, mailbox: resource.email! }, ctx)),
      );
      return this.aggregate(request.message, outcomes);
    } catch (error) {
      return { outcome: 'failed', diagnosis: diagnose(error, ctx) };
    }
  }

  /** Every check that can fail before a call goes out: nothing reaches Entra with a bad value. */
  private prepare(connector: StoredConnector): Prepared {
    const missing = [
      connector.clientId ? undefined : 'Client ID',
      connector.protectedClientSecret ? undefined : 'Client Secret',
      connector.entraTenantId ? undefined : 'Tenant ID',
    ].filter((m): m is string => m !== undefined);
    if (missing.length > 0) throw new IncompleteCredentialsError(missing);
    validateTenantId(connector.entraTenantId!);
    const graphBaseUrl = httpsOverride('Graph URL override', connector.graphBaseUrl, this.deps.defaults.graphBaseUrl);
    const authorityHost = httpsOverride('sign-in authority override', connector.authorityHost, this.deps.defaults.authorityHost);
    const clientSecret = this.deps.protector.unprotect(connector.protectedClientSecret!);
    if (clientSecret.trim() === '') throw new IncompleteCredentialsError(['Client Secret']);
    return { creds: { entraTenantId: connector.entraTenantId!, clientId: connector.clientId!, clientSecret, authorityHost }, graphBaseUrl };
  }

  private syncableResources(message: AppointmentMessage): AppointmentResource[] {
    const enabled = message.resources.filter(isSyncable);
    if (enabled.length === 0) throw new IntegrationDisabledError(message.resources);
    return enabled;
  }

  private async syncResource(request: DeliveryRequest<MappingReads>, resource: AppointmentResource, call: GraphCall, base: DiagnosisContext): Promise<ResourceOutcome> {
    const { message, connector } = request;
    const operation = message.action;
    const ctx: DiagnosisContext = { ...base, resource, operation };
    const ids = [connector.tenantId, connector.connectorId, message.appointmentId, resource.number] as const;
    try {
      const mapping = await (request.prefetched?.get(mappingKey(...ids)) ?? this.deps.mappings.get(...ids));
      // A first attempt without a mapping may race the create that is still in flight; a replay
      // (the retry job, or an operator) re-establishes the event instead of failing forever.
      const isReplay = request.attempt > 1;

      if (message.action === 'delete') {
        if (!mapping) {
          if (isReplay) return { resource, diagnosis: diagnosisOf('DSEX021', `Nothing is mapped for ${label(resource)} any more; the event is gone.`, ctx, 'exchange.replayed-delete-without-mapping') };
          throw new NoMappingEntryError(message.appointmentId, resource);
        }
        try {
          await this.deps.calendar.deleteEvent(call, mapping.eventId);
        } catch (error) {
          const diagnosis = diagnose(error, ctx);
          if (diagnosis.code !== 'DSEX021') throw error;
          await this.deps.mappings.remove(...ids);
          return { resource, diagnosis };
        }
        await this.deps.mappings.remove(...ids);
        return { resource, done: 'deleted' };
      }

      const event = toGraphEvent(message);
      if (mapping) {
        try {
          await this.deps.calendar.updateEvent(call, mapping.eventId, event);
          await this.deps.mappings.put(...ids, { ...mapping, appointmentVersion: message.appointmentVersion });
          return { resource, done: 'updated' };
        } catch (error) {
          if (diagnose(error, ctx).code === 'DSEX020') await this.deps.mappings.remove(...ids); // the event is gone: forget it
          throw error;
        }
      }
      if (message.action === 'update' && !isReplay) throw new NoMappingEntryError(message.appointmentId, resource);

      const created = await this.deps.calendar.createEvent(call, { ...event, transactionId: graphTransactionId(...ids) });
      if (!created.id) throw new EmptyBackOfficeResponseError(`Microsoft Graph created the event of ${label(resource)} but returned no event id.`);
      await this.deps.mappings.put(...ids, { eventId: created.id, mailbox: call.mailbox, appointmentVersion: message.appointmentVersion });
      return { resource, done: 'created' };
    } catch (error) {
      return { resource, diagnosis: diagnose(error, ctx) };
    }
  }

  private aggregate(message: AppointmentMessage, outcomes: ResourceOutcome[]): DeliveryResult {
    const diagnosisOf = (o: ResourceOutcome) => ('diagnosis' in o ? o.diagnosis : undefined);
    const worst = worstDiagnosis(outcomes.map(diagnosisOf).filter((d): d is Diagnosis => d !== undefined && d.code !== 'DSEX021'));
    if (worst) return { outcome: 'failed', diagnosis: worst };
    // Only "already deleted" everywhere: the desired end state holds, and the row says so (Skipped).
    const first = outcomes.every((o) => 'diagnosis' in o) ? diagnosisOf(outcomes[0]!) : undefined;
    if (first) return { outcome: 'failed', diagnosis: first };
    const done = outcomes.map((o) => `${label(o.resource)}: ${'done' in o ? o.done : 'already deleted'}`);
    const skipped = message.resources.filter((r) => !isSyncable(r)).map(label);
    const note = skipped.length ? `; not synced (Exchange disabled): ${skipped.join(', ')}` : '';
    return { outcome: 'succeeded', detail: `Exchange ${message.action}: ${done.join(', ')}${note}.` };
  }
}
