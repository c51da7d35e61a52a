import { redact } from './redact';

/**
 * A Table Storage string property holds at most 64 KiB (32K UTF-16 code units). The row carries
 * other columns too, so the message is held to a size an operator can still read on one screen.
 */
export const MAX_MESSAGE_CHARS = 4000;
const ELLIPSIS = ' …';

/** Cuts on a code-point boundary so a surrogate pair is never split into invalid UTF-16. */
export function truncate(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  let cut = maxChars - ELLIPSIS.length;
  const code = text.charCodeAt(cut - 1);
  if (code >= 0xd800 && code <= 0xdbff) cut -= 1;
  return text.slice(0, cut) + ELLIPSIS;
}

/** Single-line, control-character free: rows are shown in a table and searched in logs. */
export function oneLine(text: string): string {
  return text
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, ' ')
    .replace(/\s*[\r\n]+\s*/g, ' ')
    .trim();
}

export function formatText(text: string, secrets: readonly string[] = []): string {
  return oneLine(redact(text, secrets));
}

/** `[CODE] text`, redacted and bounded: the Transaction.Message column. */
export function formatMessage(code: string, text: string, secrets: readonly string[] = []): string {
  return truncate(`[${code}] ${formatText(text, secrets)}`, MAX_MESSAGE_CHARS);
}
