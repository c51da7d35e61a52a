import { TABLES } from '../../../shared/storage/tableClients';
import type { TableFault } from '../../simulators/tableFaults';
import { webhookAppointment } from '../messages';
import { scenario, type Scenario } from '../scenario';
import { STORAGE_TENANT } from '../world';

/**
 * Table Storage failures (DSDB001…DSDB004), injected by the fault proxy in front of Azurite. A storage
 * failure is never a transaction outcome: the pipeline reports it (log errorCode=…, telemetry) and
 * fails the invocation, the host abandons the message, Service Bus delivers it again, and the second
 * delivery finds storage healthy and succeeds. So each story ends as one Succeeded row, and its code
 * is counted from the host's log.
 */

/** The tables SDK retries a 5xx or a dropped connection 3 times itself: the fault must outlast them. */
const SDK_ATTEMPTS = 4;
/** recordAttempt re-reads and retries a conflicting write 5 times before it gives up. */
const CONFLICT_ATTEMPTS = 6;

function storageStory(code: string, what: string, rule: { methods: string[]; times: number; fault: TableFault; body?: boolean }): Scenario {
  const messageId = `db-${code.toLowerCase()}`;
  return scenario({
    name: `${code} ${what}`,
    rows: ['Succeeded'],
    logged: [code],
    short: code === 'DSDB002',
    async run(ctx) {
      ctx.tableFaults.inject({
        table: TABLES.transactions,
        methods: rule.methods,
        // a point read names the row in the URL; an insert carries it in the JSON body
        contains: rule.body ? `"RowKey":"${messageId}"` : `RowKey='${messageId}'`,
        times: rule.times,
        fault: rule.fault,
      });
      await ctx.send({ messageId, body: webhookAppointment({ tenantId: STORAGE_TENANT, connectorId: 'partner-main', appointmentId: `APT-${messageId}` }) });
    },
  });
}

export const storageScenarios: readonly Scenario[] = [
  storageStory('DSDB001', 'Table Storage is busy (503 ServerBusy), then recovers', {
    methods: ['GET'],
    times: SDK_ATTEMPTS,
    fault: { kind: 'status', status: 503, code: 'ServerBusy', message: 'The server is busy.' },
  }),
  storageStory('DSDB002', "Table Storage refuses the app's identity (403), then the role assignment lands", {
    methods: ['GET'],
    times: 1,
    fault: { kind: 'status', status: 403, code: 'AuthorizationPermissionMismatch', message: 'This request is not authorized to perform this operation using this permission.' },
  }),
  storageStory('DSDB003', 'another writer keeps winning the race for the row (409)', {
    methods: ['POST'],
    times: CONFLICT_ATTEMPTS,
    body: true,
    fault: { kind: 'status', status: 409, code: 'EntityAlreadyExists', message: 'The specified entity already exists.' },
  }),
  storageStory('DSDB004', 'Table Storage times out (500 OperationTimedOut)', {
    methods: ['GET'],
    times: SDK_ATTEMPTS,
    fault: { kind: 'status', status: 500, code: 'OperationTimedOut', message: 'Operation could not be completed within the specified time.' },
  }),
];
