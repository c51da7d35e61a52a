// How a stored message looks from outside the queue: on the wire to a receiver, and as a
// snapshot for tests.
import { types, type Message } from 'rhea';
import { Annotation, MessageState, asPropertyMap, decodeBody, type PropertyMap } from './amqp';

export type MessageStateName = 'active' | 'locked' | 'scheduled' | 'deferred';

/** A read-only snapshot of a stored message, for tests. */
export interface BrokerMessage {
  sequenceNumber: number;
  messageId: unknown;
  /** JSON-decoded when the sender JSON-encoded it (the client's default), else the raw section content. */
  body: unknown;
  applicationProperties: PropertyMap;
  subject?: string;
  correlationId?: unknown;
  contentType?: string;
  /** What the next receiver sees as deliveryCount (= deliveries so far). */
  deliveryCount: number;
  enqueuedTime: Date;
  state: MessageStateName;
  scheduledEnqueueTime?: Date;
  lockedUntil?: Date;
  deadLetterReason?: string;
  deadLetterErrorDescription?: string;
  deadLetterSource?: string;
  /** The decoded AMQP message as the client sent it (message_id filled in). */
  amqp: Message;
}

/** A message as the queue keeps it. */
export interface Stored {
  readonly sequenceNumber: number;
  amqp: Message;
  readonly enqueuedTime: number;
  deliveries: number;
  state: MessageStateName;
  scheduledAt?: number;
  expiresAt?: number;
  lockToken?: string;
  lockedUntil?: number;
  /** Once deferred, an abandoned or lock-expired message goes back to deferred, not to the queue. */
  wasDeferred?: boolean;
}

/** The message as a receiver gets it: broker annotations added, header delivery-count set. */
export function wireMessage(stored: Stored, deliveryCount: number): Message {
  const annotations: PropertyMap = {
    ...asPropertyMap(stored.amqp.message_annotations),
    [Annotation.sequenceNumber]: types.wrap_long(stored.sequenceNumber),
    [Annotation.enqueuedTime]: new Date(stored.enqueuedTime),
  };
  if (stored.lockedUntil !== undefined) annotations[Annotation.lockedUntil] = new Date(stored.lockedUntil);
  if (stored.state === 'deferred') annotations[Annotation.messageState] = MessageState.deferred;
  if (stored.state === 'scheduled') annotations[Annotation.messageState] = MessageState.scheduled;
  return { ...stored.amqp, delivery_count: deliveryCount, message_annotations: annotations };
}

export function modifyProperties(stored: Stored, propertiesToModify: PropertyMap | undefined): void {
  if (!propertiesToModify || Object.keys(propertiesToModify).length === 0) return;
  stored.amqp = {
    ...stored.amqp,
    application_properties: { ...asPropertyMap(stored.amqp.application_properties), ...propertiesToModify },
  };
}

export function toBrokerMessage(m: Stored): BrokerMessage {
  const props = asPropertyMap(m.amqp.application_properties);
  const annotations = asPropertyMap(m.amqp.message_annotations);
  const snapshot: BrokerMessage = {
    sequenceNumber: m.sequenceNumber,
    messageId: m.amqp.message_id,
    body: decodeBody(m.amqp.body),
    applicationProperties: props,
    subject: m.amqp.subject,
    correlationId: m.amqp.correlation_id,
    contentType: m.amqp.content_type,
    deliveryCount: m.deliveries,
    enqueuedTime: new Date(m.enqueuedTime),
    state: m.state,
    scheduledEnqueueTime: m.scheduledAt === undefined ? undefined : new Date(m.scheduledAt),
    lockedUntil: m.lockedUntil === undefined ? undefined : new Date(m.lockedUntil),
    deadLetterReason: stringOrUndefined(props['DeadLetterReason']),
    deadLetterErrorDescription: stringOrUndefined(props['DeadLetterErrorDescription']),
    deadLetterSource: stringOrUndefined(annotations[Annotation.deadLetterSource]),
    amqp: m.amqp,
  };
  // Absent rather than undefined keeps snapshots readable in test failure output.
  for (const key of Object.keys(snapshot) as (keyof BrokerMessage)[]) {
    if (snapshot[key] === undefined || snapshot[key] === null) delete snapshot[key];
  }
  return snapshot;
}

function stringOrUndefined(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
