import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The real SDKs talk to our loopback simulators over HTTPS. Node reads NODE_EXTRA_CA_CERTS only at
// process start, so it is set here, before vitest forks its workers (they inherit this environment).
// It replaces any machine-wide value on purpose: tests only ever reach loopback.
process.env.NODE_EXTRA_CA_CERTS = resolve(dirname(fileURLToPath(import.meta.url)), 'dev/certs/ca.pem');

// Application Insights' statsbeat would report to Azure hosts; nothing here may leave loopback.
process.env.APPLICATION_INSIGHTS_NO_STATSBEAT = 'true';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'dev/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
