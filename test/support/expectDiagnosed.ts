import { expect } from 'vitest';
import { customDimensions, type AppInsightsSink } from '../../dev/simulators/appInsightsSink';
import type { TransactionRecord } from '../../shared/storage/transactions';
import type { LogLine } from './syncHarness';

/** The row, the log line and the telemetry envelope all carry the code. */
export async function expectDiagnosed(h: { logs: LogLine[]; sink: AppInsightsSink }, row: TransactionRecord, code: string, status: string): Promise<void> {
  expect(row.code).toBe(code);
  expect(row.status).toBe(status);
  expect(row.message.startsWith(`[${code}] `)).toBe(true);
  expect(h.logs.some((l) => l.text.includes(`errorCode=${code}`) && l.text.includes(`transactionId=${row.transactionId}`))).toBe(true);
  const [envelope] = await h.sink.waitFor((e) => customDimensions(e).transactionId === row.transactionId && customDimensions(e).errorCode === code);
  expect(customDimensions(envelope!)).toMatchObject({ errorCode: code, status, tenantId: row.tenantId, ...(row.appointmentId ? { appointmentId: row.appointmentId } : {}) });
}
