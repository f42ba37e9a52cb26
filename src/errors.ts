/** Base of every error the gateway answers on purpose; anything else becomes an opaque 500. */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Thrown when a request does not match its schema; `details` lists each field and problem. */
export class ValidationError extends AppError {
  constructor(message: string, details?: unknown) {
    super(400, 'validation_failed', message, details);
  }
}

/** Thrown when the request carries no valid, active API key. */
export class UnauthorizedError extends AppError {
  constructor(message = 'a valid API key is required (Authorization: Bearer <key>)') {
    super(401, 'unauthorized', message);
  }
}

/** Thrown when the key is valid but lacks the permission the route needs. */
export class ForbiddenError extends AppError {
  constructor(permission: string) {
    super(403, 'forbidden', `this API key lacks the "${permission}" permission`);
  }
}

/** Thrown when a resource does not exist in the caller's project (other projects' ids look the same). */
export class NotFoundError extends AppError {
  constructor(resource: string) {
    super(404, 'not_found', `${resource} not found`);
  }
}

/** Thrown when the request conflicts with the resource's current state; `code` says which state. */
export class ConflictError extends AppError {
  constructor(code: string, message: string, details?: unknown) {
    super(409, code, message, details);
  }
}
