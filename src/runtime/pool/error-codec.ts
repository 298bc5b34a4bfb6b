/**
 * Carries an error's class across threads. Piscina (and structured clone in
 * general) delivers only `message` and `stack` of a thrown error, so a
 * worker catches everything and returns it encoded as data; the main thread
 * rebuilds the matching class, so `classifyError` (transient vs terminal)
 * gives the same answer as if the task had run inline.
 */
import { ConflictError, TerminalError, ThrottledError, TransientError } from '../errors.ts';
import type { EncodedError } from './protocol.ts';

export function encodeError(err: unknown): EncodedError {
  if (!(err instanceof Error)) return { name: 'Error', message: `non-Error thrown: ${String(err)}` };
  const encoded: { -readonly [K in keyof EncodedError]: EncodedError[K] } = { name: err.name, message: err.message };
  if (err.stack !== undefined) encoded.stack = err.stack;
  if (err instanceof TerminalError) encoded.reason = err.reason;
  if (err instanceof ThrottledError) encoded.retryAfterMs = err.retryAfterMs;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') encoded.code = code;
  return encoded;
}

/** An error of a class this module does not know, raised in a worker. Classified as transient (like any unknown error). */
export class WorkerTaskError extends Error {
  override name = 'WorkerTaskError';
  /** `name` of the original error. */
  readonly remoteName: string;
  readonly code: string | undefined;
  constructor(encoded: EncodedError) {
    super(`${encoded.name}: ${encoded.message}`);
    this.remoteName = encoded.name;
    this.code = encoded.code;
  }
}

export function decodeError(encoded: EncodedError): Error {
  let err: Error;
  switch (encoded.name) {
    case 'TransientError':
      err = new TransientError(encoded.message);
      break;
    case 'ConflictError':
      err = new ConflictError(encoded.message);
      break;
    case 'ThrottledError':
      err = new ThrottledError(encoded.message, encoded.retryAfterMs ?? 1000);
      break;
    case 'InvalidSelectorError': // src/labels: a TerminalError subclass
      // The structured field errors stay in the worker; the message lists them all.
      err = new TerminalError(encoded.reason ?? 'InvalidSelector', encoded.message);
      break;
    case 'TerminalError':
      err = new TerminalError(encoded.reason ?? 'Invalid', encoded.message);
      break;
    default:
      err = new WorkerTaskError(encoded);
  }
  // Keep the worker-side stack: it points at the code that failed.
  if (encoded.stack !== undefined) err.stack = encoded.stack;
  return err;
}
