import type { Settings } from '../config/settings';
import { diagnose } from '../diagnostics/classifier';
import type { SecretProtector } from '../storage/secretProtector';
import type { TableProvider } from '../storage/tableClients';
import type { Telemetry } from '../telemetry/telemetry';
import { SharedCircuitBreaker, type BreakerEvents } from './sharedBreaker';
import { WebhookDeliverer } from './webhookDeliverer';

export interface WebhookParts {
  tables: TableProvider;
  protector: SecretProtector;
  telemetry: Telemetry;
}

/** Breaker transitions and fail-open moments are what an operator alerts on; they go to telemetry as events. */
function breakerTelemetry(telemetry: Telemetry): BreakerEvents {
  return {
    storeFailed: (key, error) =>
      telemetry.trackEvent('WebhookBreakerStoreUnavailable', { tenantId: key.tenantId, connectorId: key.connectorId, storageCode: diagnose(error, { stage: 'record' }).code }),
    changed: (key, from, to) => telemetry.trackEvent('WebhookBreakerStateChanged', { tenantId: key.tenantId, connectorId: key.connectorId, from, to }),
  };
}

/** The Webhook deliverer as the app settings configure it. */
export function createWebhookDeliverer(settings: Settings, parts: WebhookParts): WebhookDeliverer {
  const breaker = new SharedCircuitBreaker(
    parts.tables,
    {
      failureThreshold: settings.WEBHOOK_BREAKER_FAILURE_THRESHOLD,
      breakMs: settings.WEBHOOK_BREAKER_BREAK_MS,
      // A delivery ends within its budget; the probe's outcome write may still take one storage request.
      probeLeaseMs: settings.WEBHOOK_DELIVERY_BUDGET_MS + settings.STORAGE_REQUEST_TIMEOUT_MS,
    },
    breakerTelemetry(parts.telemetry),
  );
  return new WebhookDeliverer({
    protector: parts.protector,
    breaker,
    policy: {
      attemptTimeoutMs: settings.WEBHOOK_TIMEOUT_MS,
      maxAttempts: settings.WEBHOOK_MAX_ATTEMPTS,
      baseDelayMs: settings.WEBHOOK_RETRY_BASE_DELAY_MS,
      budgetMs: settings.WEBHOOK_DELIVERY_BUDGET_MS,
    },
  });
}
