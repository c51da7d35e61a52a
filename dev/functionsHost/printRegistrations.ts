import { loadApp } from './loadApp';

/** Prints the app's registrations as JSON: what a host would learn from loading the app. */
const app = loadApp({ fromSource: process.argv.includes('--source') });
const out = [...app.functions.values()].map((f) => ({ name: f.metadata.name, bindings: f.metadata.bindings, retryOptions: f.metadata.retryOptions }));
process.stdout.write(`${JSON.stringify({ files: app.files.length, programmingModel: app.programmingModel()?.name, functions: out }, null, 2)}\n`);
