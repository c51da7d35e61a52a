// A Service Bus-compatible AMQP 1.0 broker on rhea, for tests and the local dev host. It serves the
// real @azure/service-bus client over plain TCP on loopback (`UseDevelopmentEmulator=true`).
import type { AddressInfo, Server, Socket } from 'node:net';
import { create_container, type Connection, type EventContext, type Message, type Receiver, type Sender } from 'rhea';
import { BATCH_MESSAGE_FORMAT, Condition, unpackBatch } from './amqp';
import { ConsumerLink } from './consumer';
import { handleCbs, handleManagement, type Reply } from './management';
import { Queue, type BrokerMessage, type QueueOptions, type QueueStats } from './queue';

export type { BrokerMessage, QueueOptions, QueueStats } from './queue';

export interface ServiceBusBrokerOptions {
  /** TCP port; 0 or absent picks a free one. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  queues?: QueueOptions[];
  /**
   * Create a queue the first time a client (or an inspection call) names it. Defaults to true only
   * when `queues` is omitted, so a declared topology turns a misspelt name into the client's
   * MessagingEntityNotFoundError instead of a silent second queue.
   */
  autoCreateQueues?: boolean;
  /** Advertised on sender links; the client sizes batches by it. Default 256 KiB (Standard tier). */
  maxMessageSizeBytes?: number;
}

export interface ServiceBusBroker {
  readonly port: number;
  /** `Endpoint=sb://127.0.0.1:<port>;SharedAccessKeyName=…;SharedAccessKey=…;UseDevelopmentEmulator=true` */
  readonly connectionString: string;
  createQueue(options: QueueOptions): void;
  /** Messages waiting in the queue or locked by a receiver (Service Bus counts both as active). */
  activeMessages(queue: string): BrokerMessage[];
  deadLetterMessages(queue: string): BrokerMessage[];
  scheduledMessages(queue: string): BrokerMessage[];
  deferredMessages(queue: string): BrokerMessage[];
  /** `queue` may also be `<queue>/$deadletterqueue`. */
  stats(queue: string): QueueStats;
  /** Ends every connection and the listener; resolves once the port is free and no timer is left. */
  close(): Promise<void>;
}

const MANAGEMENT_SUFFIX = '/$management';
const DEAD_LETTER_SUFFIX = '/$deadletterqueue';

interface ConnectionState {
  consumers: Map<Sender, ConsumerLink>;
  /** Request/response replies go to the client receiver named (or addressed) by reply_to. */
  replyLinks: Map<string, Sender>;
}

export async function startServiceBusBroker(options: ServiceBusBrokerOptions = {}): Promise<ServiceBusBroker> {
  const host = options.host ?? '127.0.0.1';
  const autoCreate = options.autoCreateQueues ?? options.queues === undefined;
  const maxMessageSize = options.maxMessageSizeBytes ?? 256 * 1024;
  const queues = new Map<string, Queue>();
  const connections = new Map<Connection, ConnectionState>();
  const sockets = new Set<Socket>();

  function createQueue(q: QueueOptions): Queue {
    const key = q.name.toLowerCase();
    const existing = queues.get(key);
    if (existing) return existing;
    const dlq = new Queue({ name: `${q.name}/$DeadLetterQueue`, lockDurationMs: q.lockDurationMs });
    const queue = new Queue(q, dlq);
    queues.set(key, queue);
    return queue;
  }
  for (const q of options.queues ?? []) createQueue(q);

  /** Entity names are case-insensitive in Service Bus, as is the dead-letter suffix. */
  function resolveEntity(address: string | undefined): Queue | undefined {
    if (!address) return undefined;
    const path = address.replace(/^[a-z]+:\/\/[^/]+/i, '').replace(/^\/+/, '');
    const isDeadLetter = path.toLowerCase().endsWith(DEAD_LETTER_SUFFIX);
    const name = isDeadLetter ? path.slice(0, -DEAD_LETTER_SUFFIX.length) : path;
    if (!name || name.includes('/')) return undefined; // topics/subscriptions are not modelled
    const queue = queues.get(name.toLowerCase()) ?? (autoCreate ? createQueue({ name }) : undefined);
    return isDeadLetter ? queue?.deadLetterQueue : queue;
  }

  function inspect(name: string): Queue {
    const queue = resolveEntity(name);
    if (!queue) throw new Error(`Unknown queue '${name}' (declare it in startServiceBusBroker({ queues }))`);
    return queue;
  }

  function stateOf(connection: Connection): ConnectionState {
    let state = connections.get(connection);
    if (!state) {
      state = { consumers: new Map(), replyLinks: new Map() };
      connections.set(connection, state);
    }
    return state;
  }

  function notFound(address: string | undefined) {
    return {
      condition: Condition.notFound,
      description: `The messaging entity '${address ?? ''}' could not be found. (test broker)`,
    };
  }

  // autoaccept off: producer messages are accepted only once stored. Modified must stay distinct
  // from released: the client defers with `modified`.
  const container = create_container({ id: 'servicebus-test-broker', autoaccept: false, treat_modified_as_released: false });
  container.sasl_server_mechanisms.enable_anonymous();
  container.sasl_server_mechanisms.enable_plain(() => true);

  container.on('sender_open', (ctx: EventContext) => {
    const sender = ctx.sender;
    if (!sender) return;
    const source = sender.source?.address;
    mirrorTermini(sender);
    const state = stateOf(ctx.connection);
    if (source === '$cbs' || source?.endsWith(MANAGEMENT_SUFFIX)) {
      state.replyLinks.set(sender.name, sender);
      const target = sender.target?.address;
      if (target) state.replyLinks.set(target, sender);
      return;
    }
    const queue = resolveEntity(source);
    if (!queue) return sender.close(notFound(source));
    if (hasSessionFilter(sender)) {
      return sender.close({ condition: Condition.notImplemented, description: 'Message sessions are not supported by the test broker.' });
    }
    const receiveAndDelete = sender.snd_settle_mode === 1;
    const local = localAttach(sender);
    local.snd_settle_mode = sender.snd_settle_mode;
    local.rcv_settle_mode = sender.rcv_settle_mode;
    state.consumers.set(sender, new ConsumerLink(sender, queue, receiveAndDelete ? 'receiveAndDelete' : 'peekLock'));
  });

  container.on('receiver_open', (ctx: EventContext) => {
    const receiver = ctx.receiver;
    if (!receiver) return;
    const target = receiver.target?.address;
    mirrorTermini(receiver);
    localAttach(receiver).rcv_settle_mode = 0;
    if (target === '$cbs') {
      receiver.on('message', (c: EventContext) => respond(c, handleCbs));
      return;
    }
    if (target?.endsWith(MANAGEMENT_SUFFIX)) {
      const queue = resolveEntity(target.slice(0, -MANAGEMENT_SUFFIX.length));
      if (!queue) return receiver.close(notFound(target));
      receiver.on('message', (c: EventContext) => respond(c, (request) => handleManagement(queue, request)));
      return;
    }
    const queue = resolveEntity(target);
    if (!queue || queue.deadLetterQueue === undefined) return receiver.close(notFound(target));
    localAttach(receiver).max_message_size = maxMessageSize;
    receiver.on('message', (c: EventContext) => ingest(c, queue));
  });

  function ingest(ctx: EventContext, queue: Queue): void {
    const delivery = ctx.delivery;
    if (!delivery) return;
    try {
      // rhea leaves a non-zero-format transfer undecoded: ctx.message is then the raw payload.
      const raw = ctx.message as unknown;
      const messages = delivery.format === BATCH_MESSAGE_FORMAT && Buffer.isBuffer(raw) ? unpackBatch(raw) : [raw as Message];
      for (const m of messages) queue.enqueue(m);
      delivery.accept();
    } catch (err) {
      delivery.reject({ condition: Condition.internalError, description: err instanceof Error ? err.message : String(err) });
    }
  }

  function respond(ctx: EventContext, handle: (request: Message) => Reply): void {
    const request = ctx.message;
    ctx.delivery?.accept();
    if (!request?.reply_to) return;
    const link = stateOf(ctx.connection).replyLinks.get(request.reply_to);
    if (!link || !link.is_open()) return;
    const reply = handle(request);
    link.send({
      correlation_id: request.message_id,
      to: request.reply_to,
      application_properties: reply.application_properties,
      body: reply.body,
    });
  }

  function dropConsumer(state: ConnectionState | undefined, sender: Sender): void {
    state?.consumers.get(sender)?.close();
    state?.consumers.delete(sender);
  }

  function dropConnection(connection: Connection): void {
    const state = connections.get(connection);
    if (!state) return;
    for (const consumer of state.consumers.values()) consumer.close();
    connections.delete(connection);
  }

  container.on('connection_open', (ctx: EventContext) => void stateOf(ctx.connection));
  container.on('sender_close', (ctx: EventContext) => {
    const state = connections.get(ctx.connection);
    if (!ctx.sender || !state) return;
    dropConsumer(state, ctx.sender);
    for (const [key, link] of state.replyLinks) if (link === ctx.sender) state.replyLinks.delete(key);
  });
  container.on('session_close', (ctx: EventContext) => {
    const state = connections.get(ctx.connection);
    for (const sender of [...(state?.consumers.keys() ?? [])]) {
      if (sender.session === ctx.session) dropConsumer(state, sender);
    }
  });
  container.on('connection_close', (ctx: EventContext) => dropConnection(ctx.connection));
  container.on('disconnected', (ctx: EventContext) => dropConnection(ctx.connection));
  // Without these rhea rethrows peer errors (a client killed mid-link) on the container.
  container.on('error', () => undefined);
  container.on('connection_error', () => undefined);

  const server: Server = container.listen({ port: options.port ?? 0, host });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;

  let closing: Promise<void> | undefined;
  async function close(): Promise<void> {
    const connectionList = [...connections.keys()];
    for (const connection of connectionList) dropConnection(connection);
    for (const connection of connectionList) {
      try {
        connection.close();
      } catch {
        // already gone
      }
    }
    const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
    // Give clients a moment to answer the AMQP close; then cut whatever is left.
    await waitUntil(() => sockets.size === 0, 250);
    for (const socket of sockets) socket.destroy();
    await serverClosed;
    for (const queue of queues.values()) {
      queue.dispose();
      queue.deadLetterQueue?.dispose();
    }
  }

  return {
    port,
    connectionString:
      `Endpoint=sb://${host}:${port};SharedAccessKeyName=RootManageSharedAccessKey;` +
      'SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true',
    createQueue: (q) => void createQueue(q),
    activeMessages: (name) => inspect(name).snapshot((s) => s === 'active' || s === 'locked'),
    deadLetterMessages: (name) => {
      const dlq = inspect(name).deadLetterQueue;
      return dlq ? dlq.snapshot((s) => s === 'active' || s === 'locked') : [];
    },
    scheduledMessages: (name) => inspect(name).snapshot((s) => s === 'scheduled'),
    deferredMessages: (name) => inspect(name).snapshot((s) => s === 'deferred'),
    stats: (name) => ({ ...inspect(name).stats }),
    close: () => (closing ??= close()),
  };
}

/** The reply attach must carry a source and a target, or the peer reads it as a refused link. */
function mirrorTermini(link: Sender | Receiver): void {
  link.set_source({ address: link.source?.address ?? '' });
  link.set_target({ address: link.target?.address ?? '' });
}

interface LocalAttach {
  snd_settle_mode?: number;
  rcv_settle_mode?: number;
  max_message_size?: number;
}

/** The attach frame rhea will send back; its typings do not expose it. */
function localAttach(link: Sender | Receiver): LocalAttach {
  return (link as unknown as { local: { attach: LocalAttach } }).local.attach;
}

function hasSessionFilter(sender: Sender): boolean {
  const filter = (sender.source as { filter?: Record<string, unknown> } | undefined)?.filter;
  return filter !== undefined && filter !== null && 'com.microsoft:session-filter' in filter;
}

function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const started = Date.now();
    const check = (): void => {
      if (condition() || Date.now() - started >= timeoutMs) resolve();
      else setTimeout(check, 10);
    };
    check();
  });
}
