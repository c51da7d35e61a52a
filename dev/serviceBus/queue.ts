// One Service Bus queue (or its dead-letter sub-queue): ordering, locks, delivery counts,
// scheduling, deferral, duplicate detection and dead-lettering. No AMQP link handling here.
import type { Message } from 'rhea';
import { Annotation, asPropertyMap, messageIdKey, newLockToken, newMessageId, type PropertyMap } from './amqp';
import { modifyProperties, toBrokerMessage, wireMessage, type BrokerMessage, type MessageStateName, type Stored } from './storedMessage';

export type { BrokerMessage, MessageStateName } from './storedMessage';

export interface QueueOptions {
  name: string;
  /** Deliveries after which an abandoned or expired-lock message is dead-lettered. Default 10. */
  maxDeliveryCount?: number;
  /** Peek-lock duration. Default 30 000 ms. */
  lockDurationMs?: number;
  /** When set, a message whose message_id was seen within this window is accepted and dropped. */
  duplicateDetectionWindowMs?: number;
  /** When true, a message whose time-to-live elapsed goes to the dead-letter queue instead of vanishing. */
  deadLetteringOnMessageExpiration?: boolean;
}

export interface QueueStats {
  /** Messages received from senders (single, batched or scheduled), duplicates included. */
  sent: number;
  scheduled: number;
  cancelled: number;
  duplicatesDropped: number;
  /** Transfers to receivers (each redelivery counts). */
  delivered: number;
  completed: number;
  receivedAndDeleted: number;
  abandoned: number;
  deferred: number;
  /** Messages this queue moved to its dead-letter queue, for any reason. */
  deadLettered: number;
  lockExpirations: number;
  expired: number;
  /** Receiver links attached to this entity; the client re-attaches after a drain it thinks failed. */
  receiverLinks: number;
}

export type ReceiveMode = 'peekLock' | 'receiveAndDelete';

/** A message handed to a receiver: the wire message plus, in peek-lock, its lock token. */
export interface Handout {
  wire: Message;
  lockToken?: string;
}

export interface Consumer {
  wake(): void;
}

export class Queue {
  readonly name: string;
  readonly maxDeliveryCount: number;
  readonly lockDurationMs: number;
  private readonly dedupeWindowMs: number | undefined;
  private readonly deadLetterOnExpiry: boolean;
  private readonly messages = new Map<number, Stored>();
  /** Sequence numbers of receivable messages, ascending: abandoned messages return to their place. */
  private readonly available: number[] = [];
  private readonly locks = new Map<string, Stored>();
  private readonly consumers = new Set<Consumer>();
  private readonly seenIds = new Map<string, number>();
  private nextSequenceNumber = 1;
  private timer: NodeJS.Timeout | undefined;
  private timerDue = Infinity;
  readonly stats: QueueStats = {
    sent: 0, scheduled: 0, cancelled: 0, duplicatesDropped: 0, delivered: 0, completed: 0,
    receivedAndDeleted: 0, abandoned: 0, deferred: 0, deadLettered: 0, lockExpirations: 0, expired: 0, receiverLinks: 0,
  };

  /** `deadLetterQueue` is absent for a dead-letter queue itself: there, nothing is dead-lettered again. */
  constructor(options: QueueOptions, readonly deadLetterQueue?: Queue) {
    this.name = options.name;
    this.maxDeliveryCount = deadLetterQueue ? (options.maxDeliveryCount ?? 10) : Infinity;
    this.lockDurationMs = options.lockDurationMs ?? 30_000;
    this.dedupeWindowMs = options.duplicateDetectionWindowMs;
    this.deadLetterOnExpiry = options.deadLetteringOnMessageExpiration ?? false;
  }

  // ---- producers -------------------------------------------------------------------------------

  /**
   * Stores a message from a sender. Returns its sequence number; a duplicate still consumes one,
   * as schedule-message must answer with a number even for a message it drops.
   */
  enqueue(amqp: Message, scheduledAt?: Date): number {
    this.stats.sent++;
    const sequenceNumber = this.nextSequenceNumber++;
    if (amqp.message_id === undefined || amqp.message_id === null) amqp.message_id = newMessageId();
    if (this.isDuplicate(amqp.message_id)) {
      this.stats.duplicatesDropped++;
      return sequenceNumber;
    }
    const now = Date.now();
    const at = scheduledAt ?? asDate(asPropertyMap(amqp.message_annotations)[Annotation.scheduledEnqueueTime]);
    const ttl = typeof amqp.ttl === 'number' && amqp.ttl > 0 ? amqp.ttl : undefined;
    const stored: Stored = {
      sequenceNumber,
      amqp,
      enqueuedTime: now,
      deliveries: 0,
      state: 'active',
      ...(ttl !== undefined ? { expiresAt: now + ttl } : {}),
    };
    this.messages.set(sequenceNumber, stored);
    if (at && at.getTime() > now) {
      stored.state = 'scheduled';
      stored.scheduledAt = at.getTime();
      this.stats.scheduled++;
      this.wakeAt(stored.scheduledAt);
    } else {
      this.makeAvailable(stored);
    }
    return sequenceNumber;
  }

  cancelScheduled(sequenceNumber: number): boolean {
    const stored = this.messages.get(sequenceNumber);
    if (stored?.state !== 'scheduled') return false;
    this.messages.delete(sequenceNumber);
    this.stats.cancelled++;
    return true;
  }

  private isDuplicate(messageId: unknown): boolean {
    if (this.dedupeWindowMs === undefined) return false;
    const now = Date.now();
    for (const [key, expiry] of this.seenIds) {
      if (expiry > now) break; // insertion order = expiry order
      this.seenIds.delete(key);
    }
    const key = messageIdKey(messageId);
    if (this.seenIds.has(key)) return true;
    this.seenIds.set(key, now + this.dedupeWindowMs);
    return false;
  }

  // ---- receivers -------------------------------------------------------------------------------

  addConsumer(consumer: Consumer): void {
    this.stats.receiverLinks++;
    this.consumers.add(consumer);
  }

  removeConsumer(consumer: Consumer): void {
    this.consumers.delete(consumer);
  }

  hasAvailable(): boolean {
    return this.available.length > 0;
  }

  /** The next receivable message, locked (peek-lock) or removed (receive-and-delete). */
  take(mode: ReceiveMode): Handout | undefined {
    for (let seq = this.available.shift(); seq !== undefined; seq = this.available.shift()) {
      const stored = this.messages.get(seq);
      if (stored?.state !== 'active') continue;
      if (stored.expiresAt !== undefined && stored.expiresAt <= Date.now()) {
        this.expire(stored);
        continue;
      }
      return this.handOut(stored, mode);
    }
    return undefined;
  }

  /** com.microsoft:receive-by-sequence-number: only deferred messages can be received this way. */
  takeDeferred(sequenceNumber: number, mode: ReceiveMode): Handout | undefined {
    const stored = this.messages.get(sequenceNumber);
    if (stored?.state !== 'deferred') return undefined;
    return this.handOut(stored, mode);
  }

  private handOut(stored: Stored, mode: ReceiveMode): Handout {
    const deliveryCount = stored.deliveries++;
    this.stats.delivered++;
    if (mode === 'receiveAndDelete') {
      this.messages.delete(stored.sequenceNumber);
      this.stats.receivedAndDeleted++;
      return { wire: wireMessage(stored, deliveryCount) };
    }
    const lockToken = newLockToken();
    stored.state = 'locked';
    stored.lockToken = lockToken;
    stored.lockedUntil = Date.now() + this.lockDurationMs;
    this.locks.set(lockToken, stored);
    this.wakeAt(stored.lockedUntil);
    return { wire: wireMessage(stored, deliveryCount), lockToken };
  }

  // ---- settlement: each returns false when the lock is unknown or expired ----------------------

  complete(lockToken: string): boolean {
    const stored = this.release(lockToken);
    if (!stored) return false;
    this.messages.delete(stored.sequenceNumber);
    this.stats.completed++;
    return true;
  }

  abandon(lockToken: string, propertiesToModify?: PropertyMap): boolean {
    const stored = this.release(lockToken);
    if (!stored) return false;
    this.stats.abandoned++;
    modifyProperties(stored, propertiesToModify);
    this.returnOrDeadLetter(stored);
    return true;
  }

  defer(lockToken: string, propertiesToModify?: PropertyMap): boolean {
    const stored = this.release(lockToken);
    if (!stored) return false;
    this.stats.deferred++;
    modifyProperties(stored, propertiesToModify);
    stored.state = 'deferred';
    stored.wasDeferred = true;
    return true;
  }

  deadLetter(lockToken: string, reason?: string, description?: string, propertiesToModify?: PropertyMap): boolean {
    const stored = this.release(lockToken);
    if (!stored) return false;
    modifyProperties(stored, propertiesToModify);
    this.moveToDeadLetter(stored, reason, description);
    return true;
  }

  renewLock(lockToken: string): Date | undefined {
    const stored = this.locks.get(lockToken);
    if (!stored || stored.lockedUntil === undefined || stored.lockedUntil <= Date.now()) return undefined;
    stored.lockedUntil = Date.now() + this.lockDurationMs;
    return new Date(stored.lockedUntil);
  }

  private release(lockToken: string): Stored | undefined {
    const stored = this.locks.get(lockToken);
    if (!stored) return undefined;
    this.locks.delete(lockToken);
    stored.lockToken = undefined;
    stored.lockedUntil = undefined;
    return stored;
  }

  private returnOrDeadLetter(stored: Stored): void {
    if (stored.deliveries >= this.maxDeliveryCount) {
      this.moveToDeadLetter(
        stored,
        'MaxDeliveryCountExceeded',
        `Message could not be consumed after ${this.maxDeliveryCount} delivery attempts.`,
      );
    } else if (stored.wasDeferred) {
      stored.state = 'deferred';
    } else {
      stored.state = 'active';
      this.makeAvailable(stored);
    }
  }

  private expire(stored: Stored): void {
    this.stats.expired++;
    if (this.deadLetterOnExpiry) {
      this.moveToDeadLetter(stored, 'TTLExpiredException', 'The message expired and was dead lettered.');
    } else {
      this.messages.delete(stored.sequenceNumber);
    }
  }

  private moveToDeadLetter(stored: Stored, reason?: string, description?: string): void {
    this.messages.delete(stored.sequenceNumber);
    if (!this.deadLetterQueue) {
      // Service Bus never dead-letters out of a dead-letter queue: the message stays receivable.
      stored.state = 'active';
      this.makeAvailable(stored);
      return;
    }
    this.stats.deadLettered++;
    const props: PropertyMap = { ...asPropertyMap(stored.amqp.application_properties) };
    if (reason !== undefined && reason !== null) props['DeadLetterReason'] = reason;
    if (description !== undefined && description !== null) props['DeadLetterErrorDescription'] = description;
    const annotations = { ...asPropertyMap(stored.amqp.message_annotations), [Annotation.deadLetterSource]: this.name };
    stored.amqp = { ...stored.amqp, application_properties: props, message_annotations: annotations };
    this.deadLetterQueue.adopt(stored);
  }

  /** A dead-lettered message keeps its sequence number, enqueued time and delivery count. */
  private adopt(stored: Stored): void {
    stored.state = 'active';
    stored.wasDeferred = false;
    stored.scheduledAt = undefined;
    this.messages.set(stored.sequenceNumber, stored);
    this.makeAvailable(stored);
  }

  private makeAvailable(stored: Stored): void {
    insertSorted(this.available, stored.sequenceNumber);
    for (const consumer of this.consumers) consumer.wake();
  }

  // ---- browsing --------------------------------------------------------------------------------

  /** com.microsoft:peek-message: every stored message (any state) from `fromSequenceNumber` on. */
  peek(fromSequenceNumber: number, count: number): Message[] {
    return [...this.messages.keys()]
      .filter((seq) => seq >= fromSequenceNumber)
      .sort((a, b) => a - b)
      .slice(0, count)
      .map((seq) => this.messages.get(seq))
      .filter((m): m is Stored => m !== undefined)
      .map((m) => wireMessage(m, m.deliveries));
  }

  snapshot(filter: (state: MessageStateName) => boolean): BrokerMessage[] {
    return [...this.messages.values()]
      .filter((m) => filter(m.state))
      .sort((a, b) => a.sequenceNumber - b.sequenceNumber)
      .map((m) => toBrokerMessage(m));
  }

  // ---- time ------------------------------------------------------------------------------------

  /** One timer per queue, armed for the earliest lock expiry or scheduled enqueue time. */
  private wakeAt(due: number): void {
    if (this.timer && this.timerDue <= due) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerDue = due;
    this.timer = setTimeout(() => this.onTimer(), Math.max(0, due - Date.now()));
    this.timer.unref();
  }

  private onTimer(): void {
    this.timer = undefined;
    this.timerDue = Infinity;
    const now = Date.now();
    let next = Infinity;
    for (const stored of [...this.messages.values()]) {
      if (stored.state === 'locked' && stored.lockedUntil !== undefined) {
        if (stored.lockedUntil <= now) {
          this.stats.lockExpirations++;
          if (stored.lockToken) this.release(stored.lockToken);
          this.returnOrDeadLetter(stored);
        } else {
          next = Math.min(next, stored.lockedUntil);
        }
      } else if (stored.state === 'scheduled' && stored.scheduledAt !== undefined) {
        if (stored.scheduledAt <= now) {
          stored.state = 'active';
          stored.scheduledAt = undefined;
          this.makeAvailable(stored);
        } else {
          next = Math.min(next, stored.scheduledAt);
        }
      }
    }
    if (next !== Infinity) this.wakeAt(next);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.consumers.clear();
  }
}

function asDate(v: unknown): Date | undefined {
  if (v instanceof Date) return v;
  if (typeof v === 'number') return new Date(v);
  return undefined;
}

function insertSorted(list: number[], value: number): void {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((list[mid] ?? 0) < value) lo = mid + 1;
    else hi = mid;
  }
  if (list[lo] !== value) list.splice(lo, 0, value);
}
