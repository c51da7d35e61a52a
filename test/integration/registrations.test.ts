import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * Loads the app in a fresh process the way the Functions host does (package.json `main`, with the
 * host's @azure/functions-core in place) and checks what each function registered.
 */
const root = resolve(__dirname, '../..');
interface Registration {
  name: string;
  bindings: Record<string, Record<string, unknown>>;
}
let loaded: { files: number; programmingModel: string; functions: Registration[] };

const HTTP_API: Record<string, string> = {
  errorsPage: 'GET ui',
  errorsPageExplain: 'GET ui/codes/{errorCode}',
  errorsPageReplay: 'POST ui/replay',
  errorsPageArchive: 'POST ui/archive',
  transactionsList: 'GET transactions',
  transactionsSummary: 'GET transactions/summary',
  transactionsReplay: 'POST transactions/replay',
  transactionGet: 'GET transactions/{tenant}/{id}',
  transactionReplay: 'POST transactions/{tenant}/{id}/replay',
  transactionArchive: 'POST transactions/{tenant}/{id}/archive',
  connectorGet: 'GET connectors/{tenant}/{id}',
  connectorPut: 'PUT connectors/{tenant}/{id}',
};

function triggerOf(name: string): Record<string, unknown> {
  const fn = loaded.functions.find((f) => f.name === name);
  expect(fn, `function ${name} is registered`).toBeDefined();
  const triggers = Object.values(fn!.bindings).filter((b) => String(b.type).endsWith('Trigger'));
  expect(triggers).toHaveLength(1);
  return triggers[0]!;
}

beforeAll(() => {
  const run = spawnSync(resolve(root, 'node_modules/.bin/tsx'), ['dev/functionsHost/printRegistrations.ts', '--source'], {
    cwd: root,
    // as local.settings.json would set it: a timer schedule is bound to its app setting when present
    env: { ...process.env, RETRY_SWEEP_SCHEDULE: '0 */5 * * * *' },
    encoding: 'utf8',
    timeout: 30_000,
  });
  expect(run.stderr).not.toContain('test mode');
  expect(run.status, run.stderr).toBe(0);
  loaded = JSON.parse(run.stdout);
});

describe('function registrations', () => {
  it('sets the @azure/functions programming model and loads every entry file', () => {
    expect(loaded.programmingModel).toBe('@azure/functions');
    expect(loaded.files).toBeGreaterThanOrEqual(1);
    expect(loaded.functions.map((f) => f.name)).toEqual(expect.arrayContaining(['errorCatalogue', 'syncAppointment', 'retrySweep', ...Object.keys(HTTP_API)]));
  });

  it('every data endpoint of the Errors page and API sits behind a function key', () => {
    for (const fn of loaded.functions) {
      const trigger = triggerOf(fn.name);
      if (trigger.type === 'httpTrigger') expect(trigger.authLevel, fn.name).toBe('function');
    }
  });

  it.each(Object.entries(HTTP_API))('%s: %s', (name, expected) => {
    const [method, route] = expected.split(' ');
    expect(triggerOf(name)).toMatchObject({ type: 'httpTrigger', route, methods: [method] });
  });

  it('syncAppointment: Service Bus queue from app settings, one message per invocation', () => {
    expect(triggerOf('syncAppointment')).toMatchObject({
      type: 'serviceBusTrigger',
      direction: 'in',
      queueName: '%APPOINTMENTS_QUEUE%',
      connection: 'ServiceBusConnection',
    });
    expect(triggerOf('syncAppointment').cardinality ?? 'one').toBe('one');
  });

  it('retrySweep: timer on the RETRY_SWEEP_SCHEDULE app setting', () => {
    expect(triggerOf('retrySweep')).toMatchObject({ type: 'timerTrigger', direction: 'in', schedule: '%RETRY_SWEEP_SCHEDULE%' });
  });

  it('errorCatalogue: GET /api/errors/{code?} behind a function key', () => {
    expect(triggerOf('errorCatalogue')).toMatchObject({
      type: 'httpTrigger',
      direction: 'in',
      route: 'errors/{code?}',
      methods: ['GET'],
      authLevel: 'function',
    });
  });
});
