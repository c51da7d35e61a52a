import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * The Bicep is checked as text: no Bicep compiler (`az bicep` / the bicep CLI) is available offline,
 * so these helpers read the blocks the tests care about by their documented shape.
 */
export const root = resolve(__dirname, '../..');
export const infra = join(root, 'infra');

export const read = (...parts: string[]): string => readFileSync(join(root, ...parts), 'utf8');

export function filesUnder(dir: string, ext: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path, ext) : path.endsWith(ext) ? [path] : [];
  });
}

/** `var <name> = { KEY: value ... }` in a Bicep file: its keys and raw value expressions, in order. */
export function bicepObjectVar(text: string, name: string): Map<string, string> {
  const start = text.search(new RegExp(`^var ${name} = \\{\\s*$`, 'm'));
  if (start < 0) throw new Error(`var ${name} = { … } not found`);
  const body = text.slice(text.indexOf('{', start) + 1);
  const end = body.search(/^\}\s*$/m);
  const entries = new Map<string, string>();
  for (const line of body.slice(0, end).split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('//')) continue;
    const m = /^([A-Za-z_][\w]*)\s*:\s*(.+)$/.exec(trimmed);
    if (!m) throw new Error(`var ${name}: cannot read line "${trimmed}"`);
    if (entries.has(m[1]!)) throw new Error(`var ${name}: ${m[1]} is set twice`);
    entries.set(m[1]!, m[2]!.trim());
  }
  return entries;
}

/** The string a Bicep value is when it is a plain literal ('…' without interpolation), else undefined. */
export function bicepLiteral(value: string): string | undefined {
  const m = /^'((?:[^'\\$]|\\.|\$(?!\{))*)'$/.exec(value);
  return m ? m[1]!.replace(/\\(.)/g, '$1') : undefined;
}

/** `param <name> <type> = <default>` in a Bicep file. */
export function bicepParamDefault(text: string, name: string): string | undefined {
  return new RegExp(`^param ${name} \\w+ = (.+)$`, 'm').exec(text)?.[1]?.trim();
}
