import { handlerInstance } from '../test/support/syncHarness';
import { appointmentMessage } from '../test/support/exchangeHarness';
import type { RequestLogEntry } from '../dev/simulators/entraGraph';
import { nowMs } from '../dev/simulators/requestLog';
import type { Bench } from './types';
import { BENCH_TENANT, startExchangeRig } from './support/exchangeRig';
import { int, pool } from './support/measure';

/**
 * Graph requests per mailbox under load, measured at the Graph simulator: MESSAGES appointments,
 * each for RESOURCES of MAILBOXES mailboxes, CONCURRENCY messages at a time (host.json
 * maxConcurrentCalls) on one app instance, with LATENCY_MS per Graph request, Outlook's own
 * MailboxConcurrency limit (4, answered with 429 Retry-After) switched on, and a share of requests
 * throttled at random (429 ApplicationThrottled, Retry-After 1–2 s).
 *
 * - concurrency: the most requests the simulator ever had in flight for one mailbox (goal ≤ 4);
 * - Retry-After violations: requests that reached a mailbox after a 429 for it was answered and
 *   before its Retry-After ran out (50 ms allowed for timer granularity, as the simulator's own
 *   `honoured` check). The window opens when the 429 was written: a request already on the wire
 *   then is counted too, so the figure is strict.
 */
const MESSAGES = Number(process.env['BENCH_MAILBOX_MESSAGES'] ?? 300);
const CONCURRENCY = 16;
const MAILBOXES = ['ann@contoso.com', 'bob@contoso.com', 'cat@contoso.com', 'dan@contoso.com', 'eve@contoso.com'];
const RESOURCES = 3;
const LATENCY_MS = 25;
const THROTTLE_PROBABILITY = 0.02;
const TIMER_SLACK_MS = 50;

export const bench: Bench = async () => {
  const h = await startExchangeRig({ mailboxes: MAILBOXES });
  try {
    const app = handlerInstance(h.instance().deps);
    h.sim.setLatency(LATENCY_MS);
    h.sim.setMailboxConcurrencyLimit(4, 1);
    h.sim.graphChaos({
      probability: THROTTLE_PROBABILITY,
      seed: 9,
      faults: [
        { fault: { kind: 'throttle', retryAfterSeconds: 1 }, weight: 2 },
        { fault: { kind: 'throttle', retryAfterSeconds: 2 }, weight: 1 },
      ],
    });
    h.sim.resetStats();

    const sent = recordGraphFetches();
    const started = performance.now();
    const ids = Array.from({ length: MESSAGES }, (_, i) => i);
    await pool(ids, CONCURRENCY, async (i) => {
      const resources = Array.from({ length: RESOURCES }, (_, k) => {
        const mailbox = MAILBOXES[(i + k) % MAILBOXES.length]!;
        return { number: `R${(i + k) % MAILBOXES.length}`, name: mailbox, email: mailbox, exchangeEnabled: true };
      });
      await app.deliver(appointmentMessage({ appointmentId: `MBX-${i}`, resources }), { messageId: `mbx-${i}` });
    });
    const seconds = (performance.now() - started) / 1000;
    sent.stop();
    h.sim.clearFaults();

    const graph = h.sim.requests({ service: 'graph' });
    const maxInFlight = h.sim.maxInFlightPerMailbox();
    const throttles = graph.filter((e) => e.status === 429 && e.retryAfterSeconds !== undefined);
    const chaos = throttles.filter((e) => e.fault !== undefined).length;
    const arrivals = retryAfterViolations(graph);
    const violations = sentInsideRetryAfter(sent.log);
    const rows = (await app.rows(BENCH_TENANT)).filter((r) => r.transactionId.startsWith('mbx-'));
    const byStatus = new Map<string, number>();
    for (const r of rows) byStatus.set(`${r.status}${r.code ? ` ${r.code}` : ''}`, (byStatus.get(`${r.status}${r.code ? ` ${r.code}` : ''}`) ?? 0) + 1);
    const outcome = [...byStatus].map(([k, n]) => `${int(n)} ${k}`).join(', ');
    const load = `${int(MESSAGES)} messages × ${RESOURCES} of ${MAILBOXES.length} mailboxes, ${CONCURRENCY} at a time, ${LATENCY_MS} ms Graph latency, ${int(graph.length)} Graph requests in ${seconds.toFixed(1)} s`;

    return [
      {
        name: 'Graph requests in flight per mailbox (max)',
        value: maxInFlight,
        goal: '≤ 4',
        met: maxInFlight <= 4,
        detail: `${load}; rows: ${outcome}`,
      },
      {
        name: 'Retry-After violations',
        value: violations.count,
        goal: '0',
        met: violations.count === 0,
        detail:
          `${int(throttles.length)} 429s with Retry-After (${int(chaos)} injected at ${THROTTLE_PROBABILITY * 100}%, ${int(throttles.length - chaos)} over Outlook's limit of 4); ` +
          `${int(violations.count)} requests sent to a mailbox after its 429 reached the app and before the Retry-After ran out; ` +
          `at the simulator ${int(arrivals.count)} arrived inside a Retry-After window` +
          (arrivals.count ? ` (earliest ${arrivals.earliestMs.toFixed(0)} ms after the 429), ${int(arrivals.count - violations.count)} of them already sent when the 429 came back` : ''),
      },
    ];
  } finally {
    await h.close();
  }
};

interface SentRequest {
  mailbox: string;
  sentAt: number;
  answeredAt?: number;
  status?: number;
  retryAfterSeconds?: number;
}

/**
 * The app's side of the same requests: when each Graph request was handed to fetch and when its
 * answer came back (the Graph transport calls the global fetch), to tell a request the app sent
 * after it was told to wait from one that was already on its way when the 429 was written.
 */
function recordGraphFetches(): { log: SentRequest[]; stop(): void } {
  const original = globalThis.fetch;
  const log: SentRequest[] = [];
  globalThis.fetch = async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const mailbox = /\/users\/([^/?]+)/.exec(url)?.[1];
    if (!mailbox) return original(input, init);
    const entry: SentRequest = { mailbox: decodeURIComponent(mailbox).toLowerCase(), sentAt: nowMs() };
    log.push(entry);
    const response = await original(input, init);
    entry.answeredAt = nowMs();
    entry.status = response.status;
    const retryAfter = response.headers.get('retry-after');
    if (retryAfter !== null && /^\d+$/.test(retryAfter)) entry.retryAfterSeconds = Number(retryAfter);
    return response;
  };
  return { log, stop: () => void (globalThis.fetch = original) };
}

/** Requests the app sent to a mailbox while a Retry-After it had received for it was running. */
function sentInsideRetryAfter(log: readonly SentRequest[]): { count: number } {
  let count = 0;
  for (const e of log) {
    const told = log.some(
      (t) => t.mailbox === e.mailbox && t.retryAfterSeconds !== undefined && (t.status === 429 || t.status === 503) && t.answeredAt !== undefined && e.sentAt > t.answeredAt && e.sentAt < t.answeredAt + t.retryAfterSeconds * 1000 - TIMER_SLACK_MS,
    );
    if (told) count++;
  }
  return { count };
}

/** Requests that arrived for a mailbox while a Retry-After it had been given was still running. */
export function retryAfterViolations(graph: readonly RequestLogEntry[]): { count: number; earliestMs: number; ofSeconds: number } {
  const byMailbox = new Map<string, RequestLogEntry[]>();
  for (const e of graph) if (e.mailbox) byMailbox.set(e.mailbox, [...(byMailbox.get(e.mailbox) ?? []), e]);
  const violating = new Set<number>();
  let earliestMs = Infinity;
  let ofSeconds = 0;
  for (const entries of byMailbox.values()) {
    for (const t of entries) {
      if (t.status !== 429 || t.retryAfterSeconds === undefined || t.finishedAt === undefined) continue;
      const from = t.finishedAt;
      const until = from + t.retryAfterSeconds * 1000 - TIMER_SLACK_MS;
      for (const e of entries) {
        if (e.receivedAt > from && e.receivedAt < until) {
          violating.add(e.seq);
          if (e.receivedAt - from < earliestMs) {
            earliestMs = e.receivedAt - from;
            ofSeconds = t.retryAfterSeconds;
          }
        }
      }
    }
  }
  return { count: violating.size, earliestMs, ofSeconds };
}
