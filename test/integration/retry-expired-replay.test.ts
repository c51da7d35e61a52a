import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveIndexed } from '../../shared/retry/indexedSave';
import { REPLAY_WINDOW_MS } from '../../shared/retry/schedule';
import { appointmentMessage, TEST_QUEUE, type ExchangeHarness, startContosoHarness, CONTOSO } from '../support/exchangeHarness';
import { consumeReplays, sweepOnce, type Deliver } from '../support/retrySweep';

/**
 * A Timer job replay that was already in the queue when its row expired must not deliver after the
 * 14-day window; an operator's explicit Website replay still may. Real handler, real sweep, real
 * ServiceBusSender and receiver against the loopback broker, Graph simulator behind the deliverer.
 */
const MAILBOX = CONTOSO.mailbox;
const MINUTE = 60_000;

let h: ExchangeHarness;

beforeAll(async () => {
  h = await startContosoHarness({ RETRY_SWEEP_LEASE_MINUTES: '30' }, { serviceBus: true });
});

afterAll(async () => {
  await h?.close();
});

const deliver: Deliver = (body, meta) => h.deliver(body, meta);
const eventsFor = (subject: string) => h.sim.events(MAILBOX).filter((e) => e.subject === subject);

/** A DSEX040 row whose first failure was `agoMs` ago (the record step's own write, then its clock moved back). */
async function failedRow(id: string, agoMs: number): Promise<void> {
  h.sim.injectGraphFault({ kind: 'unavailable' }, { mailbox: MAILBOX, times: 3 });
  await h.deliver({ ...appointmentMessage({ appointmentId: `APT-${id}` }), subject: id }, { messageId: id });
  const found = (await h.deps.transactions.get('contoso', id))!;
  expect(found.record).toMatchObject({ code: 'DSEX040', retryClass: 'retried', attempts: 1 });
  const firstFailureAt = new Date(Date.now() - agoMs).toISOString();
  await saveIndexed(h.deps, found.record, { ...found.record, firstFailureAt }, found.etag);
}

describe('a Timer job replay of a row the retry job gave up on', () => {
  it('is completed without delivering when the row expired while the replay waited; a Website replay still delivers', async () => {
    // The window ends 20 minutes from now; the backoff (≤ 2.5 min) ran out well before.
    await failedRow('exp-1', REPLAY_WINDOW_MS - 20 * MINUTE);
    const claimed = await sweepOnce(h.deps, { now: () => new Date(Date.now() + 10 * MINUTE) });
    expect(claimed.summary).toMatchObject({ due: 1, enqueued: 1 });
    // The replay waits in the queue past the window: the next pass marks the row expired.
    const expired = await sweepOnce(h.deps, { now: () => new Date(Date.now() + 25 * MINUTE) });
    expect(expired.summary).toMatchObject({ due: 1, expired: 1 });
    expect(await h.row('contoso', 'exp-1')).toMatchObject({ expired: true, givenUpReason: 'window-ended' });

    const consumed = await consumeReplays(h.broker!.connectionString, TEST_QUEUE, 1, deliver);
    expect(consumed.map((m) => m.messageId)).toEqual(['exp-1:2']);
    expect(h.broker!.activeMessages(TEST_QUEUE)).toEqual([]); // completed, not abandoned into a retry loop
    expect(eventsFor('exp-1')).toEqual([]);
    const row = await h.row('contoso', 'exp-1');
    expect(row).toMatchObject({ status: 'Failed', code: 'DSEX040', attempts: 1, expired: true, givenUpReason: 'window-ended', source: 'Service' });
    expect(h.logs.some((l) => l.text.includes('transactionId=exp-1 Timer job replay exp-1:2 dropped: the retry sweep gave up on the row'))).toBe(true);

    // An operator who presses Replay on the Errors page still gets a delivery.
    await h.deliver(row!.payload, { messageId: 'exp-1:2', applicationProperties: { transactionId: 'exp-1', source: 'Website' } });
    expect(await h.row('contoso', 'exp-1')).toMatchObject({ status: 'Succeeded', source: 'Website', attempts: 2, expired: false, givenUpReason: undefined });
    expect(eventsFor('exp-1')).toHaveLength(1);
  });

  it('is completed without delivering when the window ended before the sweep marked the row', async () => {
    await failedRow('exp-2', REPLAY_WINDOW_MS + MINUTE);
    const found = (await h.deps.transactions.get('contoso', 'exp-2'))!;
    // As the sweep leaves a row it enqueued shortly before the window ended.
    const leased = { ...found.record, replayQueuedAt: new Date(Date.now() - 5 * MINUTE).toISOString(), nextAttemptAt: new Date(Date.now() + 25 * MINUTE).toISOString() };
    await saveIndexed(h.deps, found.record, leased, found.etag);

    await h.deliver(found.record.payload, { messageId: 'exp-2:2', applicationProperties: { transactionId: 'exp-2', source: 'Timer job' } });
    expect(eventsFor('exp-2')).toEqual([]);
    expect(await h.row('contoso', 'exp-2')).toMatchObject({ status: 'Failed', attempts: 1, expired: false });
    expect(h.logs.some((l) => l.text.includes('transactionId=exp-2 Timer job replay exp-2:2 dropped: its retry window ended'))).toBe(true);

    // The sweep then gives the row up as for any row past its window.
    const pass = await sweepOnce(h.deps);
    expect(pass.summary).toMatchObject({ due: 1, expired: 1 });
    expect(await h.row('contoso', 'exp-2')).toMatchObject({ expired: true, givenUpReason: 'window-ended', attempts: 1 });
  });
});
