// AMQP details shared by the broker modules: the Service Bus vocabulary (annotation names, error
// conditions), lock-token encoding, batch unpacking and body decoding.
import { randomUUID } from 'node:crypto';
import { message as rheaMessage, string_to_uuid, uuid_to_string, type Message } from 'rhea';

/** The `message_format` @azure/service-bus puts on a transfer that carries a batch (Microsoft's vendor format). */
export const BATCH_MESSAGE_FORMAT = 0x80013700;

export const Annotation = {
  sequenceNumber: 'x-opt-sequence-number',
  enqueuedTime: 'x-opt-enqueued-time',
  lockedUntil: 'x-opt-locked-until',
  scheduledEnqueueTime: 'x-opt-scheduled-enqueue-time',
  deadLetterSource: 'x-opt-deadletter-source',
  messageState: 'x-opt-message-state',
} as const;

/** Values of x-opt-message-state, as the client maps them to `state`. */
export const MessageState = { active: 0, deferred: 1, scheduled: 2 } as const;

export const Condition = {
  deadLetter: 'com.microsoft:dead-letter',
  lockLost: 'com.microsoft:message-lock-lost',
  messageNotFound: 'com.microsoft:message-not-found',
  notFound: 'amqp:not-found',
  notImplemented: 'amqp:not-implemented',
  internalError: 'amqp:internal-error',
  badRequest: 'amqp:invalid-field',
} as const;

/**
 * The client reads a lock token from a delivery tag as uuid_to_string(reorder(tag)) (the .NET Guid
 * byte order), but sends it back to `$management` as plain string_to_uuid(token). Keeping the
 * token string as the key and deriving the tag from it lets both paths find the same lock.
 */
export function newLockToken(): string {
  return randomUUID();
}

export function deliveryTagForLockToken(token: string): Buffer {
  return reorderGuidBytes(string_to_uuid(token));
}

export function lockTokenFromUuid(bytes: Buffer): string {
  return uuid_to_string(bytes);
}

function reorderGuidBytes(b: Buffer): Buffer {
  const order = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
  return Buffer.from(order.map((i) => b[i] ?? 0));
}

/**
 * A batch is one AMQP message whose data sections are each a complete encoded message. rhea
 * hands a non-zero-format transfer over undecoded, so both layers are decoded here.
 */
export function unpackBatch(payload: Buffer): Message[] {
  const envelope = decodeMessage(payload);
  const body: unknown = envelope.body;
  if (!isSection(body)) return [];
  const parts: unknown[] = body.multiple ? (body.content as unknown[]) : [body.content];
  return parts.filter((p): p is Buffer => Buffer.isBuffer(p)).map(decodeMessage);
}

/** rhea's typings give decode() a looser Message type than the one its links use. */
export function decodeMessage(encoded: Buffer): Message {
  return rheaMessage.decode(encoded) as unknown as Message;
}

export function encodeMessage(m: Message): Buffer {
  return rheaMessage.encode(m);
}

/** Delivery outcomes; rhea defines these at runtime but leaves them out of its typings. */
const outcomes = rheaMessage as unknown as {
  accepted(): { described(): unknown };
  rejected(fields: { error: { condition: string; description: string } }): { described(): unknown };
};

export function acceptedOutcome(): unknown {
  return outcomes.accepted().described();
}

export function rejectedOutcome(condition: string, description: string): unknown {
  return outcomes.rejected({ error: { condition, description } }).described();
}

interface Section {
  typecode: number;
  content: unknown;
  multiple?: boolean;
}

function isSection(v: unknown): v is Section {
  return typeof v === 'object' && v !== null && 'typecode' in v && 'content' in v;
}

/** The body as an application would see it: JSON-decoded when the client JSON-encoded it. */
export function decodeBody(body: unknown): unknown {
  if (!isSection(body)) return body;
  if (body.typecode !== 0x75 || !Buffer.isBuffer(body.content)) return body.content;
  const text = body.content.toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return body.content;
  }
}

/** rhea decodes symbol/string message ids to strings, uuids to Buffers and ulongs to numbers. */
export function messageIdKey(id: unknown): string {
  if (Buffer.isBuffer(id)) return `uuid:${id.toString('hex')}`;
  return `${typeof id}:${String(id)}`;
}

export function newMessageId(): string {
  return randomUUID().replace(/-/g, '');
}

/** Application property values that survive an AMQP round trip (rhea re-wraps them by JS type). */
export type PropertyMap = Record<string, unknown>;

export function asPropertyMap(v: unknown): PropertyMap {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v) ? (v as PropertyMap) : {};
}
