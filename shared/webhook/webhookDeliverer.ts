import { TaskCancelledError } from 'cockatiel';
import { diagnose } from '../diagnostics/classifier';
import { ConnectorNotAllowedError, MissingConnectorFieldError, WrongConnectorTypeError } from '../diagnostics/domainErrors';
import type { DiagnosisContext } from '../diagnostics/types';
import type { Deliverer, DeliveryRequest, DeliveryResult } from '../connectors/delivery';
import type { StoredConnector } from '../storage/connectors';
import type { SecretProtector } from '../storage/secretProtector';
import { deliveryPolicy, isTransient, type DeliveryPolicyOptions } from './deliveryPolicy';
import { webhookEndpoint } from './endpoint';
import { postOnce, type PartnerAnswer } from './partnerCall';
import { payloadBody } from './payload';
import type { BreakerTicket, SharedCircuitBreaker } from './sharedBreaker';
import { signedHeaders, signingKey, webhookId } from './signing';

export interface WebhookDelivererDeps {
  protector: SecretProtector;
  breaker: SharedCircuitBreaker;
  /** `attemptTimeoutMs` is the default; a connector's own timeoutMs wins */
  policy: DeliveryPolicyOptions;
  now?: () => number;
}

interface Prepared {
  url: URL;
  secret: string;
  key: Buffer;
  timeoutMs: number;
}

/** The failures that say the partner is unavailable: they count towards opening the breaker. */
export function countsAgainstPartner(error: unknown): boolean {
  return error instanceof TaskCancelledError || isTransient(error);
}

/** Posts each appointment change, signed (Standard Webhooks), to the partner endpoint of its connector. */
export class WebhookDeliverer implements Deliverer {
  private readonly now: () => number;

  constructor(private readonly deps: WebhookDelivererDeps) {
    this.now = deps.now ?? Date.now;
  }

  async deliver(request: DeliveryRequest): Promise<DeliveryResult> {
    const { connector, message } = request;
    const ctx: DiagnosisContext = { connector: 'webhook', tenantId: connector.tenantId };
    const failed = (error: unknown) => ({ outcome: 'failed', diagnosis: diagnose(error, ctx) }) as const;
    let prepared: Prepared;
    let ticket: BreakerTicket;
    try {
      prepared = this.prepare(connector);
      ctx.secrets = [prepared.secret];
      ctx.timeoutMs = prepared.timeoutMs;
      ticket = await this.deps.breaker.admit({ tenantId: connector.tenantId, connectorId: connector.connectorId, configVersion: connector.configVersion });
    } catch (error) {
      return failed(error); // a configuration code, or DSWBHK030: nothing reached the partner
    }

    const id = webhookId(connector.tenantId, request.transactionId);
    try {
      const answer = await this.post(prepared, id, payloadBody(message));
      await this.deps.breaker.record(ticket, { counted: false });
      return { outcome: 'succeeded', detail: `Webhook ${message.action}: delivered (HTTP ${answer.status}, webhook-id ${id}).` };
    } catch (error) {
      const result = failed(error);
      await this.deps.breaker.record(ticket, { counted: countsAgainstPartner(error), code: result.diagnosis.code });
      return result;
    }
  }

  /**
   * Every check that can fail before a call goes out. The shared gate already refused a connector
   * that is not allowed or not a Webhook; they are checked again because this deliverer must be
   * safe on its own (and then they are the webhook codes, DSWBHK001/003).
   */
  private prepare(connector: StoredConnector): Prepared {
    if (!connector.allowedToSend) throw new ConnectorNotAllowedError('Webhook');
    if (connector.type !== 'Webhook') throw new WrongConnectorTypeError('Webhook', connector.type);
    const url = webhookEndpoint(connector.webhookUrl);
    if (!connector.protectedSigningSecret) throw new MissingConnectorFieldError('signing secret');
    const secret = this.deps.protector.unprotect(connector.protectedSigningSecret);
    const own = connector.timeoutMs;
    const timeoutMs = Math.min(own !== undefined && Number.isInteger(own) && own > 0 ? own : this.deps.policy.attemptTimeoutMs, this.deps.policy.budgetMs);
    return { url, secret, key: signingKey(secret), timeoutMs };
  }

  /** Signed anew for every attempt (a fresh timestamp), under the one webhook-id of this message. */
  private post(prepared: Prepared, id: string, body: string): Promise<PartnerAnswer> {
    const policy = deliveryPolicy({ ...this.deps.policy, attemptTimeoutMs: prepared.timeoutMs }, this.now);
    const request = { url: prepared.url, body, headers: () => signedHeaders(prepared.key, id, body, this.now()) };
    return policy.execute(({ attempt, signal }) => postOnce(request, attempt + 1, signal));
  }
}
