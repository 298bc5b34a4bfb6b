/**
 * Error classes a reconcile can end with, and the classification the
 * scheduler uses to decide what happens next. The split follows common
 * controller practice: transient failures back off per key (client-go's
 * work queue), conflicts retry from fresh cache state, throttling honours
 * the server's Retry-After, and terminal (invalid input) failures are not
 * retried (controller-runtime's `reconcile.TerminalError`); here they
 * dead-letter the key until its object changes.
 */

export type ErrorKind = 'transient' | 'conflict' | 'throttled' | 'terminal';

export class TransientError extends Error {
  override name = 'TransientError';
}

/** HTTP 409: the object changed under us; retry from the latest cache state. */
export class ConflictError extends Error {
  override name = 'ConflictError';
}

/** HTTP 429 (or an explicit Retry-After): wait at least `retryAfterMs`. */
export class ThrottledError extends Error {
  override name = 'ThrottledError';
  readonly retryAfterMs: number;
  constructor(message: string, retryAfterMs: number) {
    super(message);
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * Invalid input that no retry can fix. `reason` is a CamelCase machine
 * reason (as in a Kubernetes condition), `message` says what to fix.
 */
export class TerminalError extends Error {
  override name = 'TerminalError';
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.reason = reason;
  }
}

/** A failed Kubernetes API request, carrying the Status the server returned. */
export class ApiError extends Error {
  override name = 'ApiError';
  readonly statusCode: number;
  /** Kubernetes Status `reason`, e.g. `Conflict`, `NotFound`, `Expired`, `Timeout`. */
  readonly reason: string;
  readonly verb: string;
  readonly resource: string;
  readonly retryAfterSeconds: number | undefined;
  readonly body: unknown;
  constructor(init: {
    statusCode: number;
    reason?: string;
    message: string;
    verb: string;
    resource: string;
    retryAfterSeconds?: number;
    body?: unknown;
  }) {
    super(`${init.verb} ${init.resource}: ${init.statusCode} ${init.reason ?? ''}: ${init.message}`.replace(/ {2}/g, ' '));
    this.statusCode = init.statusCode;
    this.reason = init.reason ?? '';
    this.verb = init.verb;
    this.resource = init.resource;
    this.retryAfterSeconds = init.retryAfterSeconds;
    this.body = init.body;
  }
}

export interface Classification {
  kind: ErrorKind;
  /** Minimum wait before the next attempt (from Retry-After), if the error says. */
  retryAfterMs?: number;
  /** Condition reason for terminal errors. */
  reason?: string;
}

const transientNetworkCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/**
 * The server did not do its job (connection refused or reset, timeout, 5xx,
 * 429): nothing about the request was wrong, and the same request succeeds
 * once the server is healthy again.
 */
export function isServerUnavailable(err: unknown): boolean {
  if (err instanceof ApiError) return err.statusCode >= 500 || err.statusCode === 429;
  const code = (err as { code?: unknown; cause?: { code?: unknown } } | null)?.code ?? (err as { cause?: { code?: unknown } } | null)?.cause?.code;
  return typeof code === 'string' && transientNetworkCodes.has(code);
}

export function isNotFound(err: unknown): boolean {
  return err instanceof ApiError && err.statusCode === 404;
}

export function isConflict(err: unknown): boolean {
  return err instanceof ConflictError || (err instanceof ApiError && err.statusCode === 409);
}

/**
 * Settles to `undefined` where the object is already gone, as
 * controller-runtime's `client.IgnoreNotFound`: deleting or releasing
 * something that vanished meanwhile is the outcome we wanted.
 */
export async function ignoreNotFound<T>(request: Promise<T>): Promise<T | undefined> {
  try {
    return await request;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** Settles to `undefined` where a create found the object already there (409 AlreadyExists). */
export async function ignoreAlreadyExists<T>(create: Promise<T>): Promise<T | undefined> {
  try {
    return await create;
  } catch (err) {
    if (isConflict(err)) return undefined;
    throw err;
  }
}

/**
 * Whether the API server refused to create something because its namespace
 * is being deleted (admission plugin NamespaceLifecycle: 403 Forbidden with
 * a `NamespaceTerminating` cause). Not an authorisation problem: nothing
 * new may appear in a namespace on its way out, whoever asks.
 */
export function isNamespaceTerminating(err: unknown): boolean {
  if (!(err instanceof ApiError) || err.statusCode !== 403) return false;
  const causes = (err.body as { details?: { causes?: unknown } } | null | undefined)?.details?.causes;
  return Array.isArray(causes) && causes.some((c) => (c as { reason?: unknown } | null)?.reason === 'NamespaceTerminating');
}

export function isGone(err: unknown): boolean {
  return err instanceof ApiError && err.statusCode === 410;
}

/**
 * Maps any thrown value to what the scheduler should do with it. Anything
 * unrecognised (including plain programming errors) is transient: it backs
 * off and counts against the attempt budget, so a persistent bug dead-letters
 * the key instead of hot-looping or crashing the process.
 */
export function classifyError(err: unknown): Classification {
  if (err instanceof TerminalError) return { kind: 'terminal', reason: err.reason };
  if (err instanceof ThrottledError) return { kind: 'throttled', retryAfterMs: err.retryAfterMs };
  if (err instanceof ConflictError) return { kind: 'conflict' };
  if (err instanceof TransientError) return { kind: 'transient' };
  if (err instanceof ApiError) {
    const retryAfterMs = err.retryAfterSeconds !== undefined ? err.retryAfterSeconds * 1000 : undefined;
    if (err.statusCode === 409) return { kind: 'conflict' };
    if (err.statusCode === 429) return { kind: 'throttled', retryAfterMs: retryAfterMs ?? 1000 };
    // 400 Bad Request and 422 Invalid: the object we tried to write is wrong;
    // retrying the same computation cannot succeed.
    if (err.statusCode === 400 || err.statusCode === 422) {
      return { kind: 'terminal', reason: err.reason || 'Invalid' };
    }
    // 5xx (incl. 504 Timeout from a stalled etcd), 408, 401/403 (credentials
    // or RBAC may be fixed under us), 404 (cache lag): back off and retry.
    return retryAfterMs !== undefined ? { kind: 'transient', retryAfterMs } : { kind: 'transient' };
  }
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && transientNetworkCodes.has(code)) return { kind: 'transient' };
  return { kind: 'transient' };
}
