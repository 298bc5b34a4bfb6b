import type { Readable } from 'node:stream';

/**
 * The one seam between the API client and the wire: send a request, get
 * its status, headers and a body to read. HTTP/1.1 (http1-sender.ts) and
 * HTTP/2 (http2-session.ts) implement it, so the REST transport and the
 * watch stream carry their semantics (metrics, timeouts, retries) once.
 */

/** `api.transport`: which HTTP version the client speaks to the API server. */
export const API_TRANSPORTS = ['auto', 'http2', 'http1'] as const;
export type ApiTransport = (typeof API_TRANSPORTS)[number];
/** The default of `api.transport` and of every KubeClient not told otherwise. */
export const DEFAULT_API_TRANSPORT: ApiTransport = 'auto';

/** The protocol a connection speaks, as ALPN names it. */
export type WireProtocol = 'http/1.1' | 'h2';

export interface RawRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: Buffer | undefined;
  /** Aborting cancels the request, or its body once answered; the promise or read() rejects with `signal.reason`. */
  signal?: AbortSignal | undefined;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /**
   * Hands every body chunk to `onData`; resolves at the end of the body,
   * rejects when it breaks off (a connection error with code ECONNRESET),
   * is cancelled, or `onData` throws (the body is cancelled then). Call it
   * right after the response resolves: the body waits, unread, until then.
   */
  read(onData: (chunk: Buffer) => void): Promise<void>;
  /** Stops the body; read() rejects with `reason`. */
  cancel(reason: Error): void;
}

export interface HttpSender {
  /** The protocol in use; undefined until `auto` has asked the server. */
  readonly protocol: WireProtocol | undefined;
  send(request: RawRequest): Promise<RawResponse>;
  /** Drops the open connections: in-flight requests fail with ECONNRESET, the next request connects afresh. */
  reset(): void;
  /** Stops taking requests and lets connections go (in-flight requests may fail). */
  close(): void;
}

/**
 * A connection-level failure as the rest of the runtime knows it: code
 * ECONNRESET, which errors.ts classifies as transient (retried with backoff).
 */
export function connectionReset(message: string, cause?: unknown): Error {
  return Object.assign(new Error(message, cause === undefined ? undefined : { cause }), { code: 'ECONNRESET' });
}

/** Why `signal` aborted, as an Error (AbortSignal.abort() without a reason gives a DOMException). */
export function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : Object.assign(new Error('request aborted'), { name: 'AbortError', code: 'ABORT_ERR' });
}

/**
 * The body half of a RawResponse over a node Readable (an IncomingMessage
 * or an HTTP/2 stream). Listens at once, so a failure before read() is kept
 * for it rather than thrown as an unhandled 'error'.
 */
export function readableBody(
  stream: Readable,
  opts: {
    /** Tears the request down on the wire. */
    cancel: () => void;
    signal?: AbortSignal | undefined;
    /** Turns a protocol-specific stream error into what callers classify. */
    toError: (err: unknown) => Error;
  },
): Pick<RawResponse, 'read' | 'cancel'> {
  let cancelled: Error | undefined;
  let outcome: { error: Error | undefined } | undefined;
  let settle: ((error: Error | undefined) => void) | undefined;
  const done = (error: Error | undefined): void => {
    if (outcome) return;
    outcome = { error };
    opts.signal?.removeEventListener('abort', onAbort);
    settle?.(error);
  };
  const cancel = (reason: Error): void => {
    if (outcome) return;
    cancelled = reason;
    opts.cancel();
    done(reason);
  };
  const onAbort = (): void => cancel(abortReason(opts.signal!));
  stream.on('error', (err) => done(cancelled ?? opts.toError(err)));
  stream.on('end', () => done(undefined));
  stream.on('close', () => done(cancelled ?? (stream.readableEnded ? undefined : connectionReset('response body ended early'))));
  if (opts.signal?.aborted) onAbort();
  else opts.signal?.addEventListener('abort', onAbort, { once: true });
  return {
    cancel,
    read(onData) {
      return new Promise<void>((resolve, reject) => {
        settle = (error) => (error ? reject(error) : resolve());
        if (outcome) return settle(outcome.error);
        stream.on('data', (chunk: Buffer) => {
          if (outcome) return;
          try {
            onData(chunk);
          } catch (err) {
            cancel(err instanceof Error ? err : new Error(String(err)));
          }
        });
      });
    },
  };
}

/** The kubeconfig's TLS material, as both the HTTPS agent and the HTTP/2 session get it. */
export type TlsMaterial = Pick<import('node:tls').ConnectionOptions, 'ca' | 'cert' | 'key' | 'rejectUnauthorized' | 'servername'>;
