import { CATALOGUE } from '../shared/diagnostics/catalogue';
import { renderSummary } from '../shared/diagnostics/render';
import { loadApp } from './functionsHost/loadApp';

// Loads the built app exactly as the Functions host would, then prints what it found.
const app = loadApp();
process.stdout.write(`Appointment sync connector — ${CATALOGUE.length} diagnostic codes\n\n${renderSummary(CATALOGUE)}\n\n`);
process.stdout.write(`Registered functions: ${[...app.functions.keys()].join(', ')}\n`);
app.uninstall();
