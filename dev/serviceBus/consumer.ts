// A client receiver link (a broker-side rhea Sender) reading from one queue: honours link credit,
// answers drain, and turns the client's dispositions into queue settlements.
import type { Delivery, EventContext, Sender } from 'rhea';
import { Condition, acceptedOutcome, asPropertyMap, deliveryTagForLockToken, rejectedOutcome } from './amqp';
import type { Consumer, Queue, ReceiveMode } from './queue';

/** rhea keeps these on the Sender but its typings leave them out. */
interface SenderInternals {
  credit: number;
  delivery_count: number;
  _draining: boolean;
  _drained: boolean;
  _get_drain(): boolean;
  session: { outgoing: { available(): number } };
}

export class ConsumerLink implements Consumer {
  private readonly locksByDelivery = new WeakMap<Delivery, string>();
  private pumpHandle: NodeJS.Immediate | undefined;
  private closed = false;

  constructor(
    readonly sender: Sender,
    private readonly queue: Queue,
    private readonly mode: ReceiveMode,
  ) {
    answerDrainEvenWithoutCredit(sender);
    sender.on('sendable', () => this.wake());
    sender.on('sender_draining', () => this.onDraining());
    sender.on('accepted', (ctx: EventContext) => this.settle(ctx, (token) => this.queue.complete(token)));
    sender.on('released', (ctx: EventContext) => this.settle(ctx, (token) => this.queue.abandon(token)));
    sender.on('modified', (ctx: EventContext) => this.onModified(ctx));
    sender.on('rejected', (ctx: EventContext) => this.onRejected(ctx));
    queue.addConsumer(this);
    this.wake();
  }

  /**
   * Sends are deferred to a fresh macrotask: rhea only counts a transfer against link credit once
   * its nextTick processing has written it, so sending from several handlers in one tick would
   * overrun the credit and strand locked messages in rhea's outgoing buffer.
   */
  wake(): void {
    if (this.closed || this.pumpHandle) return;
    this.pumpHandle = setImmediate(() => {
      this.pumpHandle = undefined;
      this.pump();
    });
  }

  private pump(): number {
    if (this.closed || !this.sender.is_open()) return 0;
    const internals = this.sender as unknown as SenderInternals;
    // rhea throws once its per-session delivery buffer (2048) is full; it emits `sendable` again
    // when slots free up.
    const budget = Math.min(internals.credit, internals.session.outgoing.available());
    let sent = 0;
    while (sent < budget) {
      const handout = this.queue.take(this.mode);
      if (!handout) break;
      const tag = handout.lockToken ? deliveryTagForLockToken(handout.lockToken) : undefined;
      const delivery = this.sender.send(handout.wire, tag);
      if (handout.lockToken) this.locksByDelivery.set(delivery, handout.lockToken);
      sent++;
    }
    return sent;
  }

  /**
   * receiveMessages() drains leftover credit when its wait ends. A drain flow is handled in the
   * poll phase, after every earlier send was written, so the credit seen here is exact: send what
   * is there, then hand the rest back.
   */
  private onDraining(): void {
    if (this.pumpHandle) {
      clearImmediate(this.pumpHandle);
      this.pumpHandle = undefined;
    }
    this.pump();
    this.sender.set_drained(true);
  }

  private onModified(ctx: EventContext): void {
    const outcome = (ctx.delivery?.remote_state ?? {}) as { undeliverable_here?: boolean; message_annotations?: unknown };
    const props = asPropertyMap(outcome.message_annotations);
    // The client abandons with undeliverable_here=false and defers with undeliverable_here=true.
    if (outcome.undeliverable_here) this.settle(ctx, (token) => this.queue.defer(token, props));
    else this.settle(ctx, (token) => this.queue.abandon(token, props));
  }

  private onRejected(ctx: EventContext): void {
    const outcome = (ctx.delivery?.remote_state ?? {}) as { error?: { condition?: unknown; description?: unknown; info?: unknown } };
    const error = outcome.error ?? {};
    const info = { ...asPropertyMap(error.info) };
    const reason = stringOrUndefined(info['DeadLetterReason']) ?? stringOrUndefined(error.condition);
    const description = stringOrUndefined(info['DeadLetterErrorDescription']) ?? stringOrUndefined(error.description);
    delete info['DeadLetterReason'];
    delete info['DeadLetterErrorDescription'];
    this.settle(ctx, (token) => this.queue.deadLetter(token, reason, description, info));
  }

  /**
   * Replies `accepted` whatever the client asked for: the client treats any outcome carrying an
   * error as a failed settlement, so echoing its `rejected` would fail every deadLetter().
   */
  private settle(ctx: EventContext, apply: (lockToken: string) => boolean): void {
    const delivery = ctx.delivery;
    if (!delivery || delivery.remote_settled) return;
    const lockToken = this.locksByDelivery.get(delivery);
    if (lockToken !== undefined && apply(lockToken)) {
      this.locksByDelivery.delete(delivery);
      delivery.update(true, acceptedOutcome());
    } else {
      const description = `The lock supplied is invalid. Either the lock expired, or the message has already been removed from the queue '${this.queue.name}'.`;
      delivery.update(true, rejectedOutcome(Condition.lockLost, description));
    }
    forget(delivery);
  }

  close(): void {
    this.closed = true;
    if (this.pumpHandle) clearImmediate(this.pumpHandle);
    this.pumpHandle = undefined;
    this.queue.removeConsumer(this);
  }
}

/**
 * rhea only flags a flow as drained while link credit remains. When the last credit went to a
 * message, the client would never see the drained flow, wait out its drain timeout and then tear
 * the link down; the peer expects the drain to be acknowledged regardless.
 */
function answerDrainEvenWithoutCredit(sender: Sender): void {
  const s = sender as unknown as SenderInternals;
  s._get_drain = function (this: SenderInternals): boolean {
    if (!(this._draining && this._drained)) return false;
    this.delivery_count += this.credit;
    this.credit = 0;
    this._draining = false;
    return true;
  };
}

/**
 * In settle mode `second` the client never sends a final settled disposition after ours, and rhea
 * frees an outgoing delivery only when both sides settled: without this, every peek-lock delivery
 * would stay in the 2048-slot session buffer until the link died. Our disposition is already
 * queued by update(), so it still goes out.
 */
function forget(delivery: Delivery): void {
  (delivery as unknown as { remote_settled: boolean }).remote_settled = true;
}

function stringOrUndefined(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
