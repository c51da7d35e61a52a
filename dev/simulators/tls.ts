import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import tls from 'node:tls';

export interface TestTlsOptions {
  cert: Buffer;
  key: Buffer;
}

// The same module runs from dev/simulators (vitest, tsx) and from dist/dev/simulators (compiled),
// so the certificates are located from the package root rather than by a fixed relative path.
function findRepoRoot(start: string): string {
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`testTlsOptions: no package.json above ${start}`);
    dir = parent;
  }
}

let cached: TestTlsOptions | undefined;

/** Certificate and key for 127.0.0.1/localhost/::1, signed by dev/certs/ca.pem. */
export function testTlsOptions(): TestTlsOptions {
  if (!cached) {
    const certs = join(findRepoRoot(__dirname), 'dev', 'certs');
    cached = { cert: readFileSync(join(certs, 'server.pem')), key: readFileSync(join(certs, 'server.key')) };
  }
  return { cert: cached.cert, key: cached.key };
}

/** Path of the CA that signed the test certificate (what NODE_EXTRA_CA_CERTS must point at). */
export function testCaPath(): string {
  return join(findRepoRoot(__dirname), 'dev', 'certs', 'ca.pem');
}

let patched = false;

function samePath(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

/**
 * Makes this process trust dev/certs/ca.pem for clients that bring no `ca` of their own (undici
 * fetch, https agents, every Azure SDK). Node reads NODE_EXTRA_CA_CERTS only at start-up, and the
 * vitest config sets it with `??=`, so a value inherited from the machine (e.g. the system bundle)
 * wins and the simulators' certificate is rejected with UNABLE_TO_VERIFY_LEAF_SIGNATURE. In that
 * case tls.createSecureContext is wrapped to add the test CA to the default store.
 * Returns how the CA is trusted. Test processes only.
 */
export function ensureTestCaTrusted(): 'env' | 'patched' {
  const fromEnv = process.env['NODE_EXTRA_CA_CERTS'];
  if (fromEnv && samePath(fromEnv, testCaPath())) return 'env';
  if (!patched) {
    const ca = readFileSync(testCaPath(), 'utf8');
    const original = tls.createSecureContext;
    const withTestCa: typeof tls.createSecureContext = (options) => {
      const context = original(options);
      // With an explicit `ca` the caller chose its trust; otherwise this is the default store.
      if (!options?.ca) (context.context as { addCACert(pem: string): void }).addCACert(ca);
      return context;
    };
    tls.createSecureContext = withTestCa;
    patched = true;
  }
  return 'patched';
}
