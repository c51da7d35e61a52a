import Module from 'node:module';

/** The metadata @azure/functions hands the host for each `app.*` registration. */
export interface CoreBinding {
  type: string;
  direction: 'in' | 'out' | 'inout';
  [key: string]: unknown;
}
export interface CoreFunctionMetadata {
  name: string;
  bindings: Record<string, CoreBinding>;
  retryOptions?: unknown;
}
export interface RegisteredFunction {
  metadata: CoreFunctionMetadata;
  handler: (...args: unknown[]) => unknown;
}
/** The library's programming model: it converts RPC data into handler arguments exactly as in Azure. */
export interface ProgrammingModel {
  name: string;
  version: string;
  getInvocationModel(coreContext: unknown): {
    getArguments(): Promise<{ context: unknown; inputs: unknown[] }>;
    invokeFunction(context: unknown, inputs: unknown[], handler: RegisteredFunction['handler']): Promise<unknown>;
    getResponse(context: unknown, result: unknown): Promise<unknown>;
  };
}
export type HostLog = (level: string, category: string, message: string) => void;

export interface FakeCore {
  readonly functions: Map<string, RegisteredFunction>;
  readonly hooks: Map<string, Array<(...args: unknown[]) => unknown>>;
  programmingModel(): ProgrammingModel | undefined;
  uninstall(): void;
}

/**
 * Stands in for the `@azure/functions-core` module the Functions host injects into its Node worker.
 * Outside the host @azure/functions switches to "test mode" and every `app.*` call is a no-op; with
 * this module resolvable, the registrations land here instead, with the metadata the host would get.
 */
export function installFakeCore(log: HostLog = () => undefined): FakeCore {
  const functions = new Map<string, RegisteredFunction>();
  const hooks = new Map<string, Array<(...args: unknown[]) => unknown>>();
  let model: ProgrammingModel | undefined;

  const coreApi = {
    version: '3.10.1',
    hostVersion: '4.1044.0',
    registerFunction(metadata: CoreFunctionMetadata, handler: RegisteredFunction['handler']) {
      if (functions.has(metadata.name)) throw new Error(`A function named '${metadata.name}' is already registered.`);
      functions.set(metadata.name, { metadata, handler });
      return { dispose: () => functions.delete(metadata.name) };
    },
    setProgrammingModel(programmingModel: ProgrammingModel) {
      model = programmingModel;
    },
    getProgrammingModel() {
      return model;
    },
    registerHook(hookName: string, callback: (...args: unknown[]) => unknown) {
      const list = hooks.get(hookName) ?? [];
      list.push(callback);
      hooks.set(hookName, list);
      return { dispose: () => list.splice(list.indexOf(callback), 1) };
    },
    log,
    Disposable: class {
      constructor(private readonly callOnDispose: () => void) {}
      dispose() {
        this.callOnDispose();
      }
    },
  };

  const loader = Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown };
  const originalLoad = loader._load;
  loader._load = function load(this: unknown, request: string, ...rest: unknown[]) {
    if (request === '@azure/functions-core') return coreApi;
    return originalLoad.call(this, request, ...rest);
  };

  return {
    functions,
    hooks,
    programmingModel: () => model,
    uninstall: () => {
      loader._load = originalLoad;
    },
  };
}
