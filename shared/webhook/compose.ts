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

/**
 * The most one breaker admit or record may spend on Table Storage. The breaker is advice, not the
 * delivery: a point read or conditional write of one small row answers in tens of milliseconds on a
 * healthy account, and two seconds still leaves room for the SDK to retry a quick 503 once. A store
 * slower than that is treated as unavailable and the delivery goes ahead (fail open). Never more than
 * one storage request's timeout (STORAGE_REQUEST_TIMEOUT_MS), which also sizes the probe's lease below.
 */
const BREAKER_STORE_BUDGET_MS = 2_000;

/** The Webhook deliverer as the app settings configure it. */
export function createWebhookDeliverer(settings: Settings, parts: WebhookParts): WebhookDeliverer {
  const breaker = new SharedCircuitBreaker(
    parts.tables,
    {
      failureThreshold: settings.WEBHOOK_BREAKER_FAILURE_THRESHOLD,
      breakMs: settings.WEBHOOK_BREAKER_BREAK_MS,
      // A delivery ends within its budget; the probe's outcome write may still take one storage request.
      probeLeaseMs: settings.WEBHOOK_DELIVERY_BUDGET_MS + settings.STORAGE_REQUEST_TIMEOUT_MS,
      storeBudgetMs: Math.min(BREAKER_STORE_BUDGET_MS, settings.STORAGE_REQUEST_TIMEOUT_MS),
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
