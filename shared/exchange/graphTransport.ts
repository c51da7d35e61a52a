import type { Context, Middleware } from '@microsoft/microsoft-graph-client';

/**
 * The Graph client's own fetch handler turns every network failure into GraphError
 * {statusCode -1, code 'TypeError', message 'fetch failed'} and drops the cause. The client copies an
 * error's `name` into GraphError.code, so we name the error after its cause (ECONNRESET, TimeoutError)
 * and the classifier can still tell a reset from a hang.
 */
export class GraphTransportError extends Error {
  constructor(name: string, message: string, cause: unknown) {
    super(message, { cause });
    this.name = name;
  }
}

function causeCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 5; depth += 1) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^(E[A-Z]+|UND_ERR_[A-Z_]+)$/.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

export function toTransportError(error: unknown, timeoutMs: number): GraphTransportError {
  const name = (error as { name?: string })?.name;
  if (name === 'TimeoutError') {
    return new GraphTransportError('TimeoutError', `The request timed out after ${timeoutMs} ms`, error);
  }
  const code = causeCode(error) ?? 'NetworkError';
  const detail = (error as { cause?: { message?: string } })?.cause?.message ?? (error as Error)?.message ?? String(error);
  return new GraphTransportError(code, `${code}: ${detail}`, error);
}

/** The last link of the middleware chain: bearer token, per-attempt timeout, cause-keeping errors. */
export class GraphTransport implements Middleware {
  constructor(
    private readonly accessToken: string,
    private readonly timeoutMs: number,
  ) {}

  async execute(context: Context): Promise<void> {
    const headers = new Headers(context.options?.headers as ConstructorParameters<typeof Headers>[0]);
    headers.set('Authorization', `Bearer ${this.accessToken}`);
    try {
      context.response = await fetch(context.request as Parameters<typeof fetch>[0], {
        ...(context.options as RequestInit),
        headers,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw toTransportError(error, this.timeoutMs);
    }
  }
}
