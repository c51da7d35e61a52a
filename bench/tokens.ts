import { handlerInstance } from '../test/support/syncHarness';
import { appointmentMessage } from '../test/support/exchangeHarness';
import type { Bench } from './types';
import { BENCH_CLIENT_ID, BENCH_TENANT, startExchangeRig } from './support/exchangeRig';
import { int, pool } from './support/measure';

/**
 * Token requests per 1,000 messages on one connector, counted at the Entra simulator's token
 * endpoint. A fresh app instance (cold credential cache, as after a scale-out) takes MESSAGES
 * messages for one connector, CONCURRENCY at a time (host.json maxConcurrentCalls), so the first
 * ones all want a token at once.
 */
const MESSAGES = Number(process.env['BENCH_TOKENS_MESSAGES'] ?? 1000);
const CONCURRENCY = 16;
const GOAL = 1;

export const bench: Bench = async () => {
  const h = await startExchangeRig({ mailboxes: ['jane@contoso.com', 'john@contoso.com'] });
  try {
    const app = handlerInstance(h.instance().deps);
    h.sim.resetStats();
    const ids = Array.from({ length: MESSAGES }, (_, i) => i);
    await pool(ids, CONCURRENCY, async (i) => {
      await app.deliver(
        appointmentMessage({
          appointmentId: `TOK-${i}`,
          resources: [
            { number: 'R001', name: 'Jane Doe', email: 'jane@contoso.com', exchangeEnabled: true },
            { number: 'R002', name: 'John Roe', email: 'john@contoso.com', exchangeEnabled: true },
          ],
        }),
        { messageId: `tok-${i}` },
      );
    });
    const requests = h.sim.tokenRequests(BENCH_CLIENT_ID);
    const issued = h.sim.tokensIssued(BENCH_CLIENT_ID);
    const discovery = h.sim.discoveryRequests();
    const rows = (await app.rows(BENCH_TENANT)).filter((r) => r.transactionId.startsWith('tok-'));
    const succeeded = rows.filter((r) => r.status === 'Succeeded').length;
    const perThousand = (requests / MESSAGES) * 1000;
    return [
      {
        name: 'token requests per 1,000 messages (one connector)',
        value: perThousand,
        goal: `≤ ${GOAL}`,
        met: perThousand <= GOAL && succeeded === MESSAGES,
        detail:
          `${int(requests)} token request(s) (${int(issued)} issued, ${int(discovery)} discovery) for ${int(MESSAGES)} messages × 2 mailboxes, ` +
          `${CONCURRENCY} at a time on a fresh instance; ${int(succeeded)}/${int(MESSAGES)} Succeeded`,
      },
    ];
  } finally {
    await h.close();
  }
};
