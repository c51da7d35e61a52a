import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planLocalServices } from '../../../dev/localServices';
import { brokerQueueOptions, isoDurationMs, readQueueProperties } from '../../../dev/serviceBus/queueProperties';
import { readSettings } from '../../../shared/config/settings';

const root = join(__dirname, '../../..');

describe('what npm start runs locally', () => {
  it('everything, when nothing is set', () => {
    expect(planLocalServices({})).toEqual({ tables: true, serviceBus: true, entraGraph: true });
    expect(planLocalServices({ TablesConnection: '', ServiceBusConnection: '', ENTRA_AUTHORITY_HOST: '', GRAPH_BASE_URL: '' })).toEqual({ tables: true, serviceBus: true, entraGraph: true });
  });

  it('the emulators the settings name (the sample settings, UseDevelopmentStorage)', () => {
    const sample = (JSON.parse(readFileSync(join(root, 'local.settings.sample.json'), 'utf8')) as { Values: Record<string, string> }).Values;
    // A copy of the sample as local.settings.json keeps `npm start` fully local, demo batch included:
    // the Entra and Graph endpoints are left empty, which the app reads as the public cloud.
    expect(planLocalServices(sample)).toEqual({ tables: true, serviceBus: true, entraGraph: true });
    expect(readSettings(sample)).toMatchObject({ ENTRA_AUTHORITY_HOST: 'https://login.microsoftonline.com', GRAPH_BASE_URL: 'https://graph.microsoft.com' });
    expect(planLocalServices({ TablesConnection: 'UseDevelopmentStorage=true' }).tables).toBe(true);
  });

  it('nothing where the settings point at Azure', () => {
    expect(
      planLocalServices({
        TablesConnection__tableServiceUri: 'https://acct.table.core.windows.net',
        ServiceBusConnection__fullyQualifiedNamespace: 'ns.servicebus.windows.net',
        ENTRA_AUTHORITY_HOST: 'https://login.microsoftonline.com',
      }),
    ).toEqual({ tables: false, serviceBus: false, entraGraph: false });
    expect(planLocalServices({ TablesConnection: 'DefaultEndpointsProtocol=https;AccountName=prod;AccountKey=abc;EndpointSuffix=core.windows.net' }).tables).toBe(false);
    expect(planLocalServices({ ServiceBusConnection: 'Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=v' }).serviceBus).toBe(false);
    expect(planLocalServices({ GRAPH_BASE_URL: 'https://graph.microsoft.us' }).entraGraph).toBe(false);
  });
});

describe("the local queue's properties", () => {
  it('come from infra/appointments-queue.json, as the real queue does', () => {
    const file = JSON.parse(readFileSync(join(root, 'infra/appointments-queue.json'), 'utf8')) as { maxDeliveryCount: number; lockDuration: string };
    const options = brokerQueueOptions('appointments', readQueueProperties(root));
    expect(options).toMatchObject({ name: 'appointments', maxDeliveryCount: file.maxDeliveryCount, lockDurationMs: isoDurationMs(file.lockDuration) });
  });

  it('reads ISO-8601 durations', () => {
    expect(isoDurationMs('PT5M')).toBe(300_000);
    expect(isoDurationMs('PT1H')).toBe(3_600_000);
    expect(isoDurationMs('P14D')).toBe(14 * 86_400_000);
    expect(isoDurationMs('PT0.5S')).toBe(500);
    expect(() => isoDurationMs('5 minutes')).toThrow(/ISO-8601/);
    expect(() => isoDurationMs('PT')).toThrow(/ISO-8601/);
  });
});
