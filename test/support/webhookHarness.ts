import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { startPartnerSimulator, type PartnerSimulator } from '../../dev/simulators/partner';
import type { ConnectorInput } from '../../shared/storage/connectors';
import { appointmentMessage, startSyncHarness, type MessageOptions, type SyncHarness } from './syncHarness';

/** The secret the partner simulator verifies every delivery with (a 32-byte key). */
export const PARTNER_SECRET = `whsec_${createHash('sha256').update('partner simulator signing key').digest('base64')}`;

/**
 * Test-sized limits: a hang costs one 400 ms timeout, retries wait tens of milliseconds, the breaker
 * opens after 3 failed deliveries and half-opens after 500 ms.
 */
export const WEBHOOK_TEST_SETTINGS = {
  WEBHOOK_TIMEOUT_MS: '400',
  WEBHOOK_MAX_ATTEMPTS: '3',
  WEBHOOK_RETRY_BASE_DELAY_MS: '20',
  WEBHOOK_DELIVERY_BUDGET_MS: '5000',
  WEBHOOK_BREAKER_FAILURE_THRESHOLD: '3',
  WEBHOOK_BREAKER_BREAK_MS: '500',
} as const;

/** Azurite + partner simulator (enforcing PARTNER_SECRET: a bad signature gets 401) + App Insights sink, and the real handler. */
export interface WebhookHarness extends SyncHarness<PartnerSimulator> {
  /** A Webhook connector posting to `/hooks/<connectorId>` on the simulator; returns that path. */
  seedWebhook(connectorId: string, overrides?: Partial<ConnectorInput>): Promise<string>;
}

export async function startWebhookHarness(settings: Record<string, string> = {}): Promise<WebhookHarness> {
  const h = await startSyncHarness({
    simulator: startPartnerSimulator({ signingSecret: PARTNER_SECRET, rejectInvalidSignatures: true }),
    connectorType: 'Webhook',
    settings: () => ({ ...WEBHOOK_TEST_SETTINGS, ...settings }),
  });
  return {
    ...h,
    async seedWebhook(connectorId, overrides = {}) {
      const path = `/hooks/${connectorId}`;
      await h.seedConnector({ tenantId: 'contoso', connectorId, webhookUrl: `${h.sim.url}${path}`, signingSecret: PARTNER_SECRET, ...overrides });
      return path;
    },
  };
}

/** An appointment message for a Webhook connector (the platform names the connector type). */
export function webhookMessage(options: MessageOptions = {}) {
  return appointmentMessage({ connectorType: 'Webhook', resources: [{ number: 'R001', name: 'Jane Doe', email: 'jane@contoso.com' }], ...options });
}

/**
 * Starts one harness for the calling test file and checks after every test that each delivery the
 * partner received carried a valid signature. The returned object forwards to the live harness.
 */
export function useWebhookHarness(settings: Record<string, string> = {}): WebhookHarness {
  let current: WebhookHarness | undefined;
  beforeAll(async () => {
    current = await startWebhookHarness(settings);
  });
  afterAll(async () => {
    await current?.close();
  });
  afterEach(() => {
    expect(current!.sim.deliveries().filter((d) => !d.signatureValid)).toEqual([]);
  });
  return new Proxy({} as WebhookHarness, {
    get: (_target, property) => {
      if (!current) throw new Error('the webhook harness is used before beforeAll started it');
      return Reflect.get(current, property);
    },
  });
}
