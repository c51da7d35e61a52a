import type { TokenCredential } from '@azure/identity';
import type { Diagnosis } from '../diagnostics/types';
import { diagnosisProperties, noTelemetry, type Telemetry, type TelemetryProperties } from './telemetry';

type AppInsightsModule = typeof import('applicationinsights');
type Client = InstanceType<AppInsightsModule['TelemetryClient']>;

export interface TelemetryOptions {
  offlineStorage?: boolean;
  /**
   * APPLICATIONINSIGHTS_AUTHENTICATION_STRING (`Authorization=AAD;ClientId=<id>`): the resource has local
   * auth disabled, so items are sent with an Entra token of that managed identity (without ClientId:
   * the system-assigned one). The host reads the same setting for its own telemetry.
   */
  authenticationString?: string;
}

/** The managed identity credential an authentication string asks for; undefined when it asks for none. */
export function entraCredentialFor(authenticationString: string | undefined): TokenCredential | undefined {
  if (!authenticationString) return undefined;
  const parts = new Map(
    authenticationString
      .split(';')
      .map((part) => part.split('=').map((s) => s.trim()))
      .filter((kv): kv is [string, string] => kv.length === 2 && kv[0] !== '')
      .map(([k, v]) => [k.toLowerCase(), v]),
  );
  if (parts.get('authorization')?.toUpperCase() !== 'AAD') return undefined;
  const { ManagedIdentityCredential } = require('@azure/identity') as typeof import('@azure/identity');
  const clientId = parts.get('clientid');
  return clientId ? new ManagedIdentityCredential({ clientId }) : new ManagedIdentityCredential();
}

/**
 * Application Insights through the applicationinsights 3.x package. Requiring it costs about a second,
 * so it is loaded on first use, not at start-up; with no connection string nothing is loaded at all.
 */
export class AppInsightsTelemetry implements Telemetry {
  private client: Client | undefined;

  constructor(
    private readonly connectionString: string,
    private readonly options: TelemetryOptions = {},
  ) {}

  private get(): Client {
    if (!this.client) {
      const ai = require('applicationinsights') as AppInsightsModule;
      // Isolated providers: no global http patching or auto-collection, only what we track.
      this.client = new ai.TelemetryClient(this.connectionString, { useGlobalProviders: false });
      // Disk caching resends after an outage; tests turn it off so nothing outlives them.
      this.client.config.enableUseDiskRetryCaching = this.options.offlineStorage ?? true;
      const credential = entraCredentialFor(this.options.authenticationString);
      if (credential) this.client.config.aadTokenCredential = credential;
    }
    return this.client;
  }

  trackDiagnosis(diagnosis: Diagnosis, context: TelemetryProperties): void {
    const properties = diagnosisProperties(diagnosis, context);
    if (diagnosis.stack !== undefined) {
      const exception = new Error(diagnosis.text);
      exception.name = diagnosis.code;
      exception.stack = diagnosis.stack;
      this.get().trackException({ exception, properties, severity: 'Error' as never });
      return;
    }
    this.get().trackTrace({ message: `errorCode=${diagnosis.code} ${diagnosis.message}`, severity: 'Warning' as never, properties });
  }

  trackEvent(name: string, properties: TelemetryProperties, measurements?: Record<string, number>): void {
    this.get().trackEvent({ name, properties, measurements });
  }

  async flush(): Promise<void> {
    if (this.client) await this.client.flush();
  }

  async shutdown(): Promise<void> {
    if (this.client) await this.client.shutdown();
    this.client = undefined;
  }
}

export function createTelemetry(connectionString: string | undefined, options: TelemetryOptions = {}): Telemetry {
  return connectionString ? new AppInsightsTelemetry(connectionString, options) : noTelemetry;
}
