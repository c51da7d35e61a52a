/**
 * A Table Storage string property holds 32K UTF-16 code units; an entity holds 1 MiB. Long texts
 * (the replayable message) are split across numbered properties instead of being cut.
 */
export const CHUNK_CHARS = 30_000;
export const MAX_CHUNKS = 20;

export function splitText(prefix: string, text: string): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  let count = 0;
  for (let start = 0; start < text.length; count += 1) {
    if (count === MAX_CHUNKS) throw new Error(`${prefix} is too long to store (${text.length} characters).`);
    let end = Math.min(start + CHUNK_CHARS, text.length);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end -= 1; // keep surrogate pairs whole
    out[`${prefix}${count}`] = text.slice(start, end);
    start = end;
  }
  out[`${prefix}Chunks`] = count;
  return out;
}

export function joinText(prefix: string, entity: Record<string, unknown>): string {
  const count = Number(entity[`${prefix}Chunks`] ?? 0);
  let text = '';
  for (let i = 0; i < count; i += 1) text += String(entity[`${prefix}${i}`] ?? '');
  return text;
}
