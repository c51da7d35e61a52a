import type { Diagnosis } from '../diagnostics/types';

/** customDimensions on every item: errorCode, status, transactionId, tenantId, connectorId, appointmentId … */
export type TelemetryProperties = Record<string, string>;

/** The one telemetry interface the pipelines see; Application Insights or nothing behind it. */
export interface Telemetry {
  /** a failure: a warning trace, or an exception carrying the stack for DSUNK001 */
  trackDiagnosis(diagnosis: Diagnosis, properties: TelemetryProperties): void;
  /** a named event such as AppointmentSynced or RetrySweepCompleted */
  trackEvent(name: string, properties: TelemetryProperties, measurements?: Record<string, number>): void;
  /**
   * sends what is queued; awaited before an invocation that reported a diagnosis ends, or the host may
   * freeze the process with it unsent (a plain success leaves its event to the batch: pipeline/syncAppointment)
   */
  flush(): Promise<void>;
  /** stops exporters and timers, so a process (a test, the local host) can exit */
  shutdown(): Promise<void>;
}

export const noTelemetry: Telemetry = {
  trackDiagnosis: () => undefined,
  trackEvent: () => undefined,
  flush: async () => undefined,
  shutdown: async () => undefined,
};

/** The properties every diagnosis carries, named as the KQL queries in infra/queries expect them. */
export function diagnosisProperties(diagnosis: Diagnosis, context: TelemetryProperties): TelemetryProperties {
  return {
    ...context,
    errorCode: diagnosis.code,
    status: diagnosis.status,
    retryClass: diagnosis.retry,
    rule: diagnosis.rule,
  };
}
