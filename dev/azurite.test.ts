import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { RestError, TableClient, odata } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzuriteTables, type AzuriteTables } from './azurite';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitUntil(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return check();
}

async function caught(work: () => Promise<unknown>): Promise<RestError> {
  try {
    await work();
  } catch (error) {
    return error as RestError;
  }
  throw new Error('expected the call to fail');
}

interface Shape {
  ctor: string | undefined;
  name: string;
  statusCode: number | undefined;
  code: string | undefined;
  errorCode: unknown;
  firstLine: string;
}

function shape(error: RestError): Shape {
  const details = error.details as { errorCode?: unknown } | undefined;
  return {
    ctor: (error as object).constructor?.name,
    name: error.name,
    statusCode: error.statusCode,
    code: error.code,
    errorCode: details?.errorCode,
    firstLine: String(error.message).split('\n')[0] ?? '',
  };
}

/** The message of a Table service RestError is the raw odata JSON body. */
function serviceMessage(error: RestError): { code: string; value: string } {
  const body = JSON.parse(error.message) as { 'odata.error': { code: string; message: { value: string } } };
  return { code: body['odata.error'].code, value: body['odata.error'].message.value.split('\n')[0] ?? '' };
}

describe('startAzuriteTables', () => {
  let azurite: AzuriteTables;
  let client: TableClient;
  let startMs = 0;

  beforeAll(async () => {
    const t0 = performance.now();
    azurite = await startAzuriteTables({ inMemory: true });
    startMs = performance.now() - t0;
    client = TableClient.fromConnectionString(azurite.connectionString, 'Probe', { allowInsecureConnection: true });
    await client.createTable();
  });
  afterAll(async () => {
    await azurite?.close();
  });

  it('starts on a free loopback port with an explicit TableEndpoint', () => {
    console.info(`[azurite] started in ${startMs.toFixed(0)} ms on port ${azurite.port}, pid ${azurite.pid}`);
    expect(azurite.port).toBeGreaterThan(0);
    expect(azurite.tableEndpoint).toBe(`http://127.0.0.1:${azurite.port}/devstoreaccount1`);
    expect(azurite.connectionString).toContain(`TableEndpoint=http://127.0.0.1:${azurite.port}/devstoreaccount1;`);
    expect(azurite.connectionString).toContain('AccountName=devstoreaccount1;');
    expect(azurite.pid).toBeTypeOf('number');
    expect(startMs).toBeLessThan(10_000);
  });

  it('creates a table, upserts, gets and queries an entity', async () => {
    await client.upsertEntity({ partitionKey: 'tenant-1', rowKey: 'row-1', status: 'Failed', attempts: 1 });
    await client.upsertEntity({ partitionKey: 'tenant-1', rowKey: 'row-1', attempts: 2 }, 'Merge');
    const entity = await client.getEntity<{ status: string; attempts: number }>('tenant-1', 'row-1');
    expect(entity).toMatchObject({ partitionKey: 'tenant-1', rowKey: 'row-1', status: 'Failed', attempts: 2 });
    expect(entity.etag).toMatch(/^W\/"datetime'/);
    const rows = [];
    for await (const row of client.listEntities({ queryOptions: { filter: odata`PartitionKey eq ${'tenant-1'}` } })) rows.push(row);
    expect(rows).toHaveLength(1);
    // createTable on an existing table does not throw (the client swallows 409 TableAlreadyExists)
    await expect(client.createTable()).resolves.toBeUndefined();
  });

  it('412 UpdateConditionNotSatisfied: updateEntity with a stale etag', async () => {
    await client.upsertEntity({ partitionKey: 'p', rowKey: 'etag', v: 1 }, 'Replace');
    const stale = (await client.getEntity('p', 'etag')).etag;
    await client.updateEntity({ partitionKey: 'p', rowKey: 'etag', v: 2 }, 'Replace', { etag: stale });
    const error = await caught(() => client.updateEntity({ partitionKey: 'p', rowKey: 'etag', v: 3 }, 'Merge', { etag: stale }));
    console.info('[azurite] 412', JSON.stringify(shape(error)));
    expect(error).toBeInstanceOf(RestError);
    expect(shape(error)).toMatchObject({ ctor: 'RestError', name: 'RestError', statusCode: 412, code: undefined, errorCode: 'UpdateConditionNotSatisfied' });
    expect(serviceMessage(error)).toEqual({ code: 'UpdateConditionNotSatisfied', value: 'The update condition specified in the request was not satisfied.' });
    // deleteEntity with a stale etag: the same shape
    const onDelete = await caught(() => client.deleteEntity('p', 'etag', { etag: stale }));
    expect(shape(onDelete)).toMatchObject({ statusCode: 412, code: undefined, errorCode: 'UpdateConditionNotSatisfied' });
  });

  it('409 EntityAlreadyExists: createEntity twice', async () => {
    await client.createEntity({ partitionKey: 'p', rowKey: 'twice' });
    const error = await caught(() => client.createEntity({ partitionKey: 'p', rowKey: 'twice' }));
    console.info('[azurite] 409', JSON.stringify(shape(error)));
    expect(shape(error)).toMatchObject({ ctor: 'RestError', name: 'RestError', statusCode: 409, code: undefined, errorCode: 'EntityAlreadyExists' });
    expect(serviceMessage(error).value).toBe('The specified entity already exists.');
  });

  it('404 ResourceNotFound: getEntity (and Merge update) of a missing entity', async () => {
    const error = await caught(() => client.getEntity('p', 'missing'));
    console.info('[azurite] 404 entity', JSON.stringify(shape(error)));
    expect(shape(error)).toMatchObject({ ctor: 'RestError', name: 'RestError', statusCode: 404, code: undefined, errorCode: 'ResourceNotFound' });
    expect(serviceMessage(error).value).toBe('The specified resource does not exist.');
    const onUpdate = await caught(() => client.updateEntity({ partitionKey: 'p', rowKey: 'missing' }, 'Merge'));
    expect(shape(onUpdate)).toMatchObject({ statusCode: 404, errorCode: 'ResourceNotFound' });
  });

  it('404 TableNotFound: entity operations on a missing table', async () => {
    const missing = TableClient.fromConnectionString(azurite.connectionString, 'NoSuchTable', { allowInsecureConnection: true });
    const error = await caught(() => missing.getEntity('p', 'r'));
    console.info('[azurite] 404 table', JSON.stringify(shape(error)));
    expect(shape(error)).toMatchObject({ ctor: 'RestError', name: 'RestError', statusCode: 404, code: undefined, errorCode: 'TableNotFound' });
    expect(serviceMessage(error).value).toBe('The table specified does not exist.');
    for (const work of [
      () => missing.upsertEntity({ partitionKey: 'p', rowKey: 'r' }),
      () => missing.createEntity({ partitionKey: 'p', rowKey: 'r' }),
      async () => {
        for await (const row of missing.listEntities()) void row;
      },
    ]) {
      expect(shape(await caught(work))).toMatchObject({ statusCode: 404, errorCode: 'TableNotFound' });
    }
  });

  it('400 PropertyValueTooLarge above 32768 UTF-16 code units (64 KiB); 400 EntityTooLarge above 1 MiB', async () => {
    // the largest string property: 32768 UTF-16 code units, whatever their UTF-8 size
    await client.upsertEntity({ partitionKey: 'p', rowKey: 'big', s: 'x'.repeat(32_768) });
    const back = await client.getEntity<{ s: string }>('p', 'big');
    expect(back.s.length).toBe(32_768);
    await client.upsertEntity({ partitionKey: 'p', rowKey: 'emoji', s: '😀'.repeat(16_384) }); // 32768 units, 65536 UTF-8 bytes
    expect((await client.getEntity<{ s: string }>('p', 'emoji')).s).toBe('😀'.repeat(16_384));
    await client.upsertEntity({ partitionKey: 'p', rowKey: 'bin', b: new Uint8Array(65_536) }); // binary: 64 KiB

    const error = await caught(() => client.upsertEntity({ partitionKey: 'p', rowKey: 'big', s: 'x'.repeat(32_769) }));
    console.info('[azurite] 400', JSON.stringify(shape(error)));
    expect(shape(error)).toMatchObject({ ctor: 'RestError', name: 'RestError', statusCode: 400, code: undefined, errorCode: 'PropertyValueTooLarge' });
    expect(serviceMessage(error).value).toBe(
      'The property value exceeds the maximum allowed size (64KB). If the property value is a string, it is UTF-16 encoded and the maximum number of characters should be 32K or less.',
    );
    expect(shape(await caught(() => client.createEntity({ partitionKey: 'p', rowKey: 'big2', s: '😀'.repeat(16_385) })))).toMatchObject({
      statusCode: 400,
      errorCode: 'PropertyValueTooLarge',
    });
    expect(shape(await caught(() => client.upsertEntity({ partitionKey: 'p', rowKey: 'bin', b: new Uint8Array(65_537) })))).toMatchObject({
      statusCode: 400,
      errorCode: 'PropertyValueTooLarge',
    });

    const huge = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`s${i}`, 'x'.repeat(32_000)]));
    const tooLarge = await caught(() => client.upsertEntity({ partitionKey: 'p', rowKey: 'huge', ...huge }));
    expect(shape(tooLarge)).toMatchObject({ statusCode: 400, code: undefined, errorCode: 'EntityTooLarge' });
    expect(serviceMessage(tooLarge).value).toBe('The entity is larger than the maximum allowed size (1MB).');
  });

  it('a key with "/" is answered 500 with an empty message and no errorCode (Azurite quirk)', async () => {
    // The SDK's default retry policy retries 5xx (~5 s here): keep the test fast.
    const noRetry = TableClient.fromConnectionString(azurite.connectionString, 'Probe', { allowInsecureConnection: true, retryOptions: { maxRetries: 0 } });
    const error = await caught(() => noRetry.upsertEntity({ partitionKey: 'p', rowKey: 'a/b' }));
    expect(shape(error)).toMatchObject({ name: 'RestError', statusCode: 500, code: undefined, errorCode: undefined, firstLine: '' });
  });

  it('close() ends the child; afterwards calls fail with RestError code ECONNREFUSED', async () => {
    const own = await startAzuriteTables(); // on-disk workspace in a temp dir
    const pid = own.pid!;
    const location = own.location!;
    // The SDK's default retry policy also retries ECONNREFUSED (~6 s before it throws): keep the test fast.
    const table = TableClient.fromConnectionString(own.connectionString, 'Closing', { allowInsecureConnection: true, retryOptions: { maxRetries: 0 } });
    await table.createTable();
    await table.upsertEntity({ partitionKey: 'p', rowKey: 'r' });
    expect(existsSync(location)).toBe(true);
    const t0 = performance.now();
    await own.close();
    console.info(`[azurite] close took ${(performance.now() - t0).toFixed(0)} ms`);
    expect(isAlive(pid)).toBe(false);
    expect(existsSync(location)).toBe(false);
    await own.close(); // idempotent

    const error = await caught(() => table.getEntity('p', 'r'));
    console.info('[azurite] refused', JSON.stringify(shape(error)));
    expect(error).toBeInstanceOf(RestError);
    expect(shape(error)).toMatchObject({
      ctor: 'RestError',
      name: 'RestError',
      statusCode: undefined,
      code: 'ECONNREFUSED',
      errorCode: undefined,
      firstLine: `connect ECONNREFUSED 127.0.0.1:${own.port}`,
    });
  });

  it('a parent killed with SIGKILL does not leave Azurite running', async () => {
    const script = [
      `require(${JSON.stringify(join(__dirname, 'azurite.ts'))}).startAzuriteTables()`,
      `  .then((a) => { process.stdout.write(a.pid + ' ' + a.location + '\\n'); process.kill(process.pid, 'SIGKILL'); });`,
    ].join('\n');
    const parent = spawn(process.execPath, ['--require', 'tsx/cjs', '-e', script], { cwd: join(__dirname, '..'), stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    parent.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await new Promise((resolve) => parent.once('exit', resolve));
    const [pidText, location] = out.trim().split(' ');
    const pid = Number(pidText);
    expect(pid).toBeGreaterThan(0);
    expect(await waitUntil(() => !isAlive(pid), 5_000)).toBe(true);
    expect(await waitUntil(() => !existsSync(location!), 2_000)).toBe(true);
  });

  it('refuses inMemory together with location', async () => {
    await expect(startAzuriteTables({ inMemory: true, location: '/tmp/x' })).rejects.toThrow(/exclusive/);
  });
});
