import { CATALOGUE, findEntry } from '../shared/diagnostics/catalogue';
import { renderExplanation } from '../shared/diagnostics/render';

/** `npm run explain -- DSEX001` explains one code; `--json` prints the whole catalogue. */
function main(args: string[]): number {
  if (args.includes('--json')) {
    process.stdout.write(`${JSON.stringify(CATALOGUE, null, 2)}\n`);
    return 0;
  }
  const codes = args.filter((a) => !a.startsWith('-'));
  if (codes.length === 0) {
    process.stderr.write('Usage: npm run explain -- <CODE> [<CODE> …]   or   npm run -s explain -- --json\n');
    return 2;
  }
  let status = 0;
  for (const code of codes) {
    const found = findEntry(code);
    if (!found) {
      process.stderr.write(`Unknown code '${code}'. Known codes: ${CATALOGUE.map((e) => e.code).join(', ')}\n`);
      status = 1;
      continue;
    }
    process.stdout.write(renderExplanation(found));
  }
  return status;
}

process.exitCode = main(process.argv.slice(2));
