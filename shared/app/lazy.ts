import type { AppDependencies } from './dependencies';

/**
 * Loading on first use, for cold start (docs/performance.md). The Functions host requires every
 * entry file at start-up and needs their `app.*` registrations then, synchronously; nothing an
 * invocation runs is needed before the first invocation. So the function files import only
 * @azure/functions and what their registrations need, and load the modules behind their handlers
 * through `lazy` (zod, the pipeline, the storage and Graph layers, the composition root).
 *
 * A failed load is not cached: the next invocation tries again (and fails as loudly).
 */
export function lazy<T>(load: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () =>
    (pending ??= load().catch((error: unknown) => {
      pending = undefined;
      throw error;
    }));
}

// One loader for the composition root, shared by every function file (one module, one `shared`).
const compositionRoot = lazy(() => import('./dependencies.js'));
let compositionRequested = false;

/** `appDependencies()` of shared/app/dependencies, its module loaded by the first invocation that asks. */
export async function lazyAppDependencies(): Promise<AppDependencies> {
  compositionRequested = true;
  return (await compositionRoot()).appDependencies();
}

/** `shutdownAppDependencies()`; nothing to load nor to do when no invocation asked for the app. */
export async function shutdownLazyAppDependencies(): Promise<void> {
  if (!compositionRequested) return;
  await (await compositionRoot()).shutdownAppDependencies();
}
