/**
 * The one shape of the `err` field in every log line: pino's standard error
 * serializer (`type`, `message` with the causes' messages, `stack` with the
 * causes' stacks, and the error's own enumerable properties such as a
 * network error's `code`), and for a failed Kubernetes API request the
 * `status` (HTTP status), `reason` and `code` of the Status the server
 * returned. A thrown value that is not an Error (a string, an error-like
 * object) still becomes `{type, message}`, never a bare string.
 *
 * Kubernetes API errors come in two kinds: our client's ApiError
 * (src/runtime/errors.ts) and @kubernetes/client-node's ApiException (the
 * CLI and the local control plane). The latter is recognised by its shape:
 * importing client-node here would load it in every command.
 */
import { pino } from 'pino';
import { ApiError } from '../runtime/errors.ts';

export interface SerializedError {
  type: string;
  message: string;
  stack?: string;
  /** Kubernetes API errors: HTTP status of the response. */
  status?: number;
  /** Kubernetes API errors: the Status `reason` (e.g. NotFound, Forbidden). */
  reason?: string;
  /** Network errors: the system error code (ECONNREFUSED); API errors: the Status `code`. */
  code?: string | number;
  [field: string]: unknown;
}

export function serializeError(value: unknown): SerializedError {
  if (value instanceof ApiError) return apiError(value);
  if (isApiException(value)) return apiException(value);
  if (value instanceof Error) return standard(value);
  if (typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string') {
    // Error-like but not an Error (e.g. structured-cloned from a worker): keep what it says.
    const like = value as { name?: unknown; message: string; stack?: unknown; code?: unknown };
    const out: SerializedError = { type: typeof like.name === 'string' ? like.name : 'Error', message: like.message };
    if (typeof like.stack === 'string' && like.stack !== '') out.stack = like.stack;
    if (typeof like.code === 'string' || typeof like.code === 'number') out.code = like.code;
    return out;
  }
  return { type: value === null ? 'null' : typeof value, message: String(value) };
}

function standard(error: Error): SerializedError {
  // pino's serializer copies enumerable properties and keeps a `raw` reference
  // (non-enumerable, not logged); a shallow copy is what the line shows.
  const serialized = { ...pino.stdSerializers.err(error) } as SerializedError;
  if (serialized.stack === '') delete serialized.stack;
  // Error subclasses declaring `override name = '…'` make it an own property; `type` says it already.
  if (serialized.name === serialized.type) delete serialized.name;
  return serialized;
}

function apiError(error: ApiError): SerializedError {
  const { body: _body, statusCode: _statusCode, ...rest } = standard(error);
  const status = (error.body as { code?: unknown } | null | undefined)?.code;
  return { ...rest, status: error.statusCode, ...(error.reason ? { reason: error.reason } : {}), code: typeof status === 'number' ? status : error.statusCode };
}

interface ApiExceptionLike extends Error {
  code: number;
  body: unknown;
  headers: unknown;
}

function isApiException(value: unknown): value is ApiExceptionLike {
  return value instanceof Error && typeof (value as { code?: unknown }).code === 'number' && 'body' in value && 'headers' in value;
}

function apiException(error: ApiExceptionLike): SerializedError {
  let body = error.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body) as unknown;
    } catch {
      // Not a Status: the text is the message.
    }
  }
  const statusBody = typeof body === 'object' && body !== null ? (body as { message?: unknown; reason?: unknown; code?: unknown }) : undefined;
  // client-node's message repeats the body and every response header; the Status message is what matters.
  const message = typeof statusBody?.message === 'string' ? statusBody.message : typeof body === 'string' && body !== '' ? body : `HTTP ${error.code}`;
  const out: SerializedError = { type: error.constructor.name || 'ApiException', message: `HTTP ${error.code}: ${message}`, status: error.code };
  if (error.stack) out.stack = error.stack;
  if (typeof statusBody?.reason === 'string' && statusBody.reason !== '') out.reason = statusBody.reason;
  out.code = typeof statusBody?.code === 'number' ? statusBody.code : error.code;
  return out;
}
