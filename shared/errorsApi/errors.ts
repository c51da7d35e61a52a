/** A request the API refuses, with a message the caller can act on. */
export class BadRequestError extends Error {
  readonly status = 400;
}

export class NotFoundError extends Error {
  readonly status = 404;
}
