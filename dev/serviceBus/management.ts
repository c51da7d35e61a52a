// The request/response nodes: `$cbs` (token put) and `<entity>/$management` (the operations
// @azure/service-bus sends from core/managementClient), answered in the shapes that client parses.
import { string_to_uuid, types, type Message } from 'rhea';
import { Condition, asPropertyMap, decodeMessage, encodeMessage, lockTokenFromUuid, type PropertyMap } from './amqp';
import type { Handout, Queue } from './queue';

export interface Reply {
  application_properties: PropertyMap;
  body?: unknown;
}

/**
 * Any token is accepted: the broker authenticates nobody. Note the key spelling: CBS replies use
 * `status-code`, while $management replies use `statusCode` (see `ok`/`fail`) like the real service;
 * core-amqp accepts either, but the peek path of the client reads `statusCode` directly.
 */
export function handleCbs(request: Message): Reply {
  const props = asPropertyMap(request.application_properties);
  if (props['operation'] !== 'put-token') {
    return { application_properties: { 'status-code': 400, 'status-description': `Unsupported CBS operation '${String(props['operation'])}'.` } };
  }
  return { application_properties: { 'status-code': 200, 'status-description': 'OK' } };
}

export function handleManagement(queue: Queue, request: Message): Reply {
  const operation = asPropertyMap(request.application_properties)['operation'];
  const body = asPropertyMap(request.body);
  try {
    switch (operation) {
      case 'com.microsoft:peek-message':
        return peek(queue, body);
      case 'com.microsoft:renew-lock':
        return renewLock(queue, body);
      case 'com.microsoft:schedule-message':
        return schedule(queue, body);
      case 'com.microsoft:cancel-scheduled-message':
        for (const seq of sequenceNumbers(body['sequence-numbers'])) queue.cancelScheduled(seq);
        return ok();
      case 'com.microsoft:update-disposition':
        return updateDisposition(queue, body);
      case 'com.microsoft:receive-by-sequence-number':
        return receiveBySequenceNumber(queue, body);
      default:
        return fail(501, Condition.notImplemented, `The test broker does not implement '${String(operation)}'.`);
    }
  } catch (err) {
    return fail(500, Condition.internalError, err instanceof Error ? err.message : String(err));
  }
}

function peek(queue: Queue, body: PropertyMap): Reply {
  const from = toNumber(body['from-sequence-number']) ?? 1;
  const count = toNumber(body['message-count']) ?? 1;
  const messages = queue.peek(from, count);
  // 204 tells the client "nothing there"; it then skips reading the body.
  if (messages.length === 0) return ok(undefined, 204);
  return ok({ messages: messages.map((m) => ({ message: encodeMessage(m) })) });
}

function renewLock(queue: Queue, body: PropertyMap): Reply {
  const expirations: number[] = [];
  for (const token of lockTokens(body['lock-tokens'])) {
    const until = queue.renewLock(token);
    if (!until) return lockLost(queue);
    expirations.push(until.getTime());
  }
  return ok({ expirations: types.wrap_array(expirations, 0x83, undefined) });
}

function schedule(queue: Queue, body: PropertyMap): Reply {
  const entries = Array.isArray(body['messages']) ? (body['messages'] as unknown[]) : [];
  const seqs = entries.map((entry) => {
    const encoded = asPropertyMap(entry)['message'];
    if (!Buffer.isBuffer(encoded)) throw new Error('schedule-message entry without an encoded message');
    // The scheduled time travels inside the message, as x-opt-scheduled-enqueue-time.
    return queue.enqueue(decodeMessage(encoded));
  });
  return ok({ 'sequence-numbers': types.wrap_array(seqs, 0x81, undefined) });
}

function updateDisposition(queue: Queue, body: PropertyMap): Reply {
  const status = body['disposition-status'];
  const props = asPropertyMap(body['properties-to-modify']);
  const reason = typeof body['deadletter-reason'] === 'string' ? body['deadletter-reason'] : undefined;
  const description = typeof body['deadletter-description'] === 'string' ? body['deadletter-description'] : undefined;
  for (const token of lockTokens(body['lock-tokens'])) {
    const done =
      status === 'completed' ? queue.complete(token)
      : status === 'abandoned' ? queue.abandon(token, props)
      : status === 'defered' ? queue.defer(token, props) // sic: the client's spelling
      : status === 'suspended' ? queue.deadLetter(token, reason, description, props)
      : undefined;
    if (done === undefined) return fail(400, Condition.badRequest, `Unknown disposition-status '${String(status)}'.`);
    if (!done) return lockLost(queue);
  }
  return ok();
}

function receiveBySequenceNumber(queue: Queue, body: PropertyMap): Reply {
  const mode = toNumber(body['receiver-settle-mode']) === 0 ? 'receiveAndDelete' : 'peekLock';
  const handouts: Handout[] = [];
  for (const seq of sequenceNumbers(body['sequence-numbers'])) {
    const handout = queue.takeDeferred(seq, mode);
    if (!handout) {
      return fail(404, Condition.messageNotFound, `Failed to lock one or more specified messages. Either the message is not deferred or is already received (sequence number ${seq}).`);
    }
    handouts.push(handout);
  }
  return ok({
    messages: handouts.map((h) => ({
      message: encodeMessage(h.wire),
      ...(h.lockToken ? { 'lock-token': types.wrap_uuid(string_to_uuid(h.lockToken)) } : {}),
    })),
  });
}

function ok(body?: unknown, statusCode = 200): Reply {
  return { application_properties: { statusCode, statusDescription: statusCode === 204 ? 'No Content' : 'OK' }, body };
}

function fail(statusCode: number, errorCondition: string, statusDescription: string): Reply {
  return { application_properties: { statusCode, statusDescription, errorCondition } };
}

function lockLost(queue: Queue): Reply {
  return fail(410, Condition.lockLost, `The lock supplied is invalid. Either the lock expired, or the message has already been removed from the queue '${queue.name}'.`);
}

function lockTokens(v: unknown): string[] {
  return (Array.isArray(v) ? v : []).filter((b): b is Buffer => Buffer.isBuffer(b)).map(lockTokenFromUuid);
}

function sequenceNumbers(v: unknown): number[] {
  return (Array.isArray(v) ? v : []).map(toNumber).filter((n): n is number => n !== undefined);
}

/** rhea decodes longs to numbers when they are safe integers, else to 8-byte big-endian Buffers. */
function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (Buffer.isBuffer(v) && v.length === 8) return Number(v.readBigInt64BE());
  return undefined;
}
