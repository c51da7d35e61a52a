import type { HttpResponseInit, InvocationContext } from '@azure/functions';
import { BadRequestError } from './errors';

/**
 * Maps what the services throw onto HTTP: their own 400/404 errors keep their message, anything
 * else is a 500 that names the invocation but never echoes internals (rows carry partner text).
 */
export async function respond(context: InvocationContext, work: () => Promise<HttpResponseInit>): Promise<HttpResponseInit> {
  try {
    return await work();
  } catch (error) {
    const status = (error as { status?: unknown }).status;
    if (status === 400 || status === 404) return { status, jsonBody: { error: (error as Error).message } };
    context.error(`Errors API failure in invocation ${context.invocationId}:`, error);
    return { status: 500, jsonBody: { error: `Internal error (invocation ${context.invocationId}).` } };
  }
}

export async function jsonBody(request: { json(): Promise<unknown> }): Promise<unknown> {
  try {
    return await request.json();
  } catch {
    throw new BadRequestError('the request body must be JSON');
  }
}
