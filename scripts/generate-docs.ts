import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CATALOGUE } from '../shared/diagnostics/catalogue';
import { renderMarkdown } from '../shared/diagnostics/render';

const target = resolve(__dirname, '..', 'docs', 'transaction-errors.md');
writeFileSync(target, renderMarkdown(CATALOGUE));
process.stdout.write(`wrote ${target}\n`);
