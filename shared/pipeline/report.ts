import type { Diagnosis } from '../diagnostics/types';
import type { Telemetry, TelemetryProperties } from '../telemetry/telemetry';

/** The log the host gives an invocation (InvocationContext fits). */
export interface Log {
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

function keyValues(properties: TelemetryProperties): string {
  return Object.entries(properties)
    .map(([k, v]) => `${k}=${/\s/.test(v) ? JSON.stringify(v) : v}`)
    .join(' ');
}

/**
 * Every diagnosis goes to the log as a searchable `errorCode=<CODE>` line and to telemetry with the
 * same properties; DSUNK001 also carries its stack so a rule can be written for it.
 */
export function reportDiagnosis(log: Log, telemetry: Telemetry, diagnosis: Diagnosis, properties: TelemetryProperties): void {
  const line = `errorCode=${diagnosis.code} status=${diagnosis.status} ${keyValues(properties)} message=${JSON.stringify(diagnosis.message)}`;
  if (diagnosis.stack !== undefined) log.error(`${line}\n${diagnosis.stack}`);
  else log.warn(line);
  telemetry.trackDiagnosis(diagnosis, properties);
}
