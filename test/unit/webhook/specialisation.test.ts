import { describe, expect, it } from 'vitest';
import { diagnose } from '../../../shared/diagnostics/classifier';
import { PartnerHttpError } from '../../../shared/diagnostics/domainErrors';

/**
 * A partner's transient answer is DSHTTP001 to the shared layer and DSWBHK020 once the webhook rules
 * see it: where a failure is diagnosed decides how specific its code is, never whether it has one.
 */
describe('a partner 429/5xx', () => {
  it.each([429, 502, 503])('HTTP %i is DSHTTP001 before the webhook rules specialise it into DSWBHK020', (status) => {
    const error = new PartnerHttpError(status, 'Bad Gateway', 'upstream down', 3, 30);
    expect(diagnose(error)).toMatchObject({ code: 'DSHTTP001', status: 'Failed', retry: 'retried', message: `[DSHTTP001] HTTP transient: Status code: ${status}.` });
    expect(diagnose(error, { connector: 'webhook' })).toMatchObject({ code: 'DSWBHK020', status: 'Failed', retry: 'retried', retryAfterSeconds: 30 });
  });

  it('a permanent 4xx is nobody’s transient: the shared layer leaves it undiagnosed, the webhook rules make it DSWBHK020', () => {
    const error = new PartnerHttpError(422, 'Unprocessable Entity', '', 1);
    expect(diagnose(error).code).toBe('DSUNK001');
    expect(diagnose(error, { connector: 'webhook' }).code).toBe('DSWBHK020');
  });
});
