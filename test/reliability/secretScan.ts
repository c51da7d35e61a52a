/**
 * A needle scan over text corpora: every form a secret could take on the way out (as is, URL-encoded,
 * JSON-escaped, and for Standard Webhooks secrets the base64 key without its whsec_ prefix).
 */
export interface Needle {
  label: string;
  value: string;
}

export interface Hit {
  source: string;
  where: string;
  needle: string;
  form: string;
}

export interface ScanReport {
  hits: Hit[];
  /** items scanned per source, and their total characters */
  items: Record<string, number>;
  chars: Record<string, number>;
}

export function needleForms(needle: Needle): Array<{ form: string; value: string }> {
  const forms = new Map<string, string>();
  const add = (value: string, form: string) => forms.has(value) || forms.set(value, form); // identical forms keep the first name
  add(needle.value, 'verbatim');
  add(encodeURIComponent(needle.value), 'url-encoded');
  add(JSON.stringify(needle.value).slice(1, -1), 'json-escaped');
  if (needle.value.startsWith('whsec_')) add(needle.value.slice('whsec_'.length), 'key-without-prefix');
  return [...forms].filter(([value]) => value.length >= 8).map(([value, form]) => ({ value, form }));
}

export class SecretScanner {
  private readonly forms: Array<{ label: string; form: string; value: string }>;
  readonly report: ScanReport = { hits: [], items: {}, chars: {} };

  constructor(needles: readonly Needle[]) {
    this.forms = needles.flatMap((n) => needleForms(n).map((f) => ({ label: n.label, ...f })));
  }

  /** Scans one item (a row, a log line, an envelope, a response) of a source. */
  scan(source: string, where: string, item: unknown): void {
    const text = typeof item === 'string' ? item : JSON.stringify(item) ?? String(item);
    this.report.items[source] = (this.report.items[source] ?? 0) + 1;
    this.report.chars[source] = (this.report.chars[source] ?? 0) + text.length;
    for (const f of this.forms) {
      if (text.includes(f.value)) this.report.hits.push({ source, where, needle: f.label, form: f.form });
    }
  }
}
