import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { QueueOptions } from './queue';

/**
 * infra/appointments-queue.json: the queue properties the Bicep gives the real queue. The local
 * broker's queue is built from the same file, so the local host dead-letters at the same delivery count.
 */
export interface QueueProperties {
  maxDeliveryCount: number;
  lockDuration: string;
  defaultMessageTimeToLive: string;
  deadLetteringOnMessageExpiration: boolean;
  requiresDuplicateDetection: boolean;
  duplicateDetectionHistoryTimeWindow: string;
}

const DURATION = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

/** An ISO-8601 duration as Service Bus uses them (PT5M, P14D, PT1H, PT30S) in milliseconds. */
export function isoDurationMs(value: string): number {
  const match = DURATION.exec(value);
  if (!match || value === 'P' || value.endsWith('T')) throw new Error(`'${value}' is not an ISO-8601 duration such as PT5M`);
  const [, days = '0', hours = '0', minutes = '0', seconds = '0'] = match;
  return ((Number(days) * 24 + Number(hours)) * 60 + Number(minutes)) * 60_000 + Math.round(Number(seconds) * 1000);
}

export function readQueueProperties(root: string): QueueProperties {
  const file = join(root, 'infra', 'appointments-queue.json');
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<QueueProperties>;
  if (!Number.isInteger(parsed.maxDeliveryCount) || (parsed.maxDeliveryCount ?? 0) < 1) {
    throw new Error(`${file}: maxDeliveryCount must be a whole number of at least 1`);
  }
  return parsed as QueueProperties;
}

/** The local broker's options for a queue with the infra's properties. */
export function brokerQueueOptions(name: string, properties: QueueProperties): QueueOptions {
  return {
    name,
    maxDeliveryCount: properties.maxDeliveryCount,
    lockDurationMs: isoDurationMs(properties.lockDuration),
    deadLetteringOnMessageExpiration: properties.deadLetteringOnMessageExpiration,
    ...(properties.requiresDuplicateDetection ? { duplicateDetectionWindowMs: isoDurationMs(properties.duplicateDetectionHistoryTimeWindow) } : {}),
  };
}
