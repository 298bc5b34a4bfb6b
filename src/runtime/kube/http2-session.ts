import http2 from 'node:http2';
import { isIP } from 'node:net';
import tls from 'node:tls';
import {
  abortReason,
  connectionReset,
  readableBody,
  type HttpSender,
  type RawRequest,
  type RawResponse,
  type TlsMaterial,
  type WireProtocol,
} from './http-sender.ts';

/**
 * HTTP/2 to the API server as client-go speaks it: requests and watches
 * multiplexed as streams over one TLS connection (a session), opened on
 * first use with the kubeconfig's TLS material and replaced when it dies.
 *
 * - A session that receives GOAWAY, errors or closes takes no new streams;
 *   the next request opens a fresh one. Streams still on a dying session
 *   fail with code ECONNRESET, which the runtime retries with backoff.
 * - SETTINGS_MAX_CONCURRENT_STREAMS (kube-apiserver's
 *   `--http2-max-streams-per-connection`; v1.36 advertises 100 unless set)
 *   is respected as Go's HTTP/2 transport does with
 *   StrictMaxConcurrentStreams=false, which client-go uses: when every open
 *   session is full, another is opened, rather than queuing requests behind
 *   long-lived watches (a request queued behind 100 watches would wait
 *   until its timeout). In steady state that is one session: our watches
 *   number in the tens and reconciles in flight are at most 64 by default.
 *   A session idle for 90 s (client-go's IdleConnTimeout) is closed, so the
 *   extra sessions of a burst do not linger.
 * - Health as client-go's ReadIdleTimeout/PingTimeout: every 30 s a PING;
 *   no answer within 15 s destroys the session, so a connection that died
 *   silently (no FIN, e.g. a dropped NAT entry) is noticed within 45 s
 *   instead of when a watch's idle timeout fires minutes later.
 * - A session with no stream open is unref'd: it never keeps the process
 *   alive, as idle keep-alive sockets don't.
 */

/** PING timing; client-go's by default. */
export interface Http2Health {
  pingIntervalMs?: number | undefined;
  pingTimeoutMs?: number | undefined;
}

export interface Http2SessionsOptions extends Http2Health {
  baseUrl: URL;
  tls: TlsMaterial;
  /**
   * `require`: fail when the server does not negotiate h2 (`api.transport:
   * http2`). `prefer`: offer h2 and http/1.1, and report when the server
   * picked http/1.1 (`auto`), as Go's transport does with ALPN.
   */
  alpn: 'require' | 'prefer';
  /** Each session opened. */
  onSessionOpened?: () => void;
}

// client-go (golang.org/x/net/http2 via k8s.io/apimachinery/pkg/util/net):
// ReadIdleTimeout 30 s, PingTimeout 15 s.
const PING_INTERVAL_MS = 30_000;
const PING_TIMEOUT_MS = 15_000;
// Go's transport advertises 4 MiB per stream and 1 GiB for the connection;
// Node's 64 KiB default would make a 500-object LIST page crawl in
// round trips of window updates.
const STREAM_WINDOW = 4 << 20;
const SESSION_WINDOW = 1 << 30;
const IDLE_TIMEOUT_MS = 90_000;
const CONNECT_TIMEOUT_MS = 30_000;
// Assumed until the server's SETTINGS arrive (Node's own default for peerMaxConcurrentStreams).
const INITIAL_MAX_STREAMS = 100;

/** The server picked HTTP/1.1 in ALPN (`alpn: 'prefer'`). */
export class Http1Negotiated extends Error {
  override name = 'Http1Negotiated';
}

interface Session {
  session: http2.ClientHttp2Session;
  active: number;
  usable: boolean;
  /** performance.now() when `active` last dropped to 0. */
  idleSince: number;
}

export class Http2Sessions {
  readonly #opts: Http2SessionsOptions;
  readonly #authority: string;
  #sessions: Session[] = [];
  #opening: Promise<void> | undefined;
  opened = 0;

  constructor(opts: Http2SessionsOptions) {
    this.#opts = opts;
    this.#authority = opts.baseUrl.origin;
  }

  /** Sessions currently taking new streams. */
  get open(): number {
    return this.#sessions.length;
  }

  /**
   * A stream on a session with room for it; call `done` when the stream
   * has closed. Rejects with Http1Negotiated when the server chose HTTP/1.1.
   */
  async acquire(): Promise<{ session: http2.ClientHttp2Session; done: () => void }> {
    for (;;) {
      // 'close' and 'goaway' arrive a tick after a session is destroyed or closed.
      this.#sessions = this.#sessions.filter((s) => s.usable && !s.session.destroyed && !s.session.closed);
      const entry = this.#sessions.find((s) => s.active < maxStreams(s.session));
      if (entry) {
        if (entry.active++ === 0) entry.session.ref();
        let released = false;
        return {
          session: entry.session,
          done: () => {
            if (released) return;
            released = true;
            if (--entry.active > 0) return;
            entry.idleSince = performance.now();
            if (!entry.session.destroyed) entry.session.unref();
          },
        };
      }
      if (!this.#opening) {
        const opening = this.#connect().finally(() => {
          if (this.#opening === opening) this.#opening = undefined;
        });
        this.#opening = opening;
      }
      await this.#opening;
    }
  }

  /** Drops every session: in-flight streams fail with ECONNRESET (connection faults, tests). */
  destroyAll(): void {
    for (const s of this.#sessions) s.session.destroy(connectionReset(`${this.#authority}: HTTP/2 session dropped`));
    this.#sessions = [];
  }

  /**
   * The open sessions take no new streams; theirs may finish, and none keeps
   * the process alive. A later request opens a new session, as a destroyed
   * HTTP/1.1 agent makes new sockets.
   */
  close(): void {
    for (const s of this.#sessions) {
      s.session.close();
      s.session.unref();
    }
    this.#sessions = [];
  }

  async #connect(): Promise<void> {
    const { baseUrl } = this.#opts;
    // client-go dials with a 30 s timeout; without one a blackholed SYN
    // holds every request waiting for this session for the kernel's ~2 min.
    let timedOut: (() => void) | undefined;
    const timer = setTimeout(() => timedOut?.(), CONNECT_TIMEOUT_MS);
    try {
      const socket = baseUrl.protocol === 'https:' ? await this.#tlsConnect((cancel) => (timedOut = cancel)) : undefined;
      const session = http2.connect(this.#authority, {
        ...(socket ? { createConnection: () => socket } : {}),
        settings: { enablePush: false, initialWindowSize: STREAM_WINDOW },
      });
      await new Promise<void>((resolve, reject) => {
        const onError = (err: unknown): void => reject(http2Failure(err));
        timedOut = () => session.destroy(connectTimeout(this.#authority));
        session.once('error', onError);
        session.once('connect', () => {
          session.off('error', onError);
          resolve();
        });
      });
      this.#adopt(session);
    } finally {
      clearTimeout(timer);
    }
  }

  #adopt(session: http2.ClientHttp2Session): void {
    session.setLocalWindowSize(SESSION_WINDOW);
    const entry: Session = { session, active: 0, usable: true, idleSince: performance.now() };
    const retire = (): void => {
      entry.usable = false;
      this.#sessions = this.#sessions.filter((s) => s !== entry);
    };
    session.on('goaway', retire);
    session.on('close', () => {
      retire();
      clearInterval(ping);
    });
    // Stream errors reach the streams; this only keeps the session's own
    // error from being unhandled.
    session.on('error', retire);
    const ping = setInterval(() => {
      if (entry.active === 0 && performance.now() - entry.idleSince >= IDLE_TIMEOUT_MS) {
        retire();
        session.close();
      } else this.#ping(session);
    }, this.#opts.pingIntervalMs ?? PING_INTERVAL_MS);
    ping.unref();
    session.unref();
    this.#sessions.push(entry);
    this.opened++;
    this.#opts.onSessionOpened?.();
  }

  #ping(session: http2.ClientHttp2Session): void {
    if (session.destroyed || session.closed) return;
    const timeoutMs = this.#opts.pingTimeoutMs ?? PING_TIMEOUT_MS;
    const deadline = setTimeout(
      () => session.destroy(connectionReset(`${this.#authority}: HTTP/2 PING unanswered for ${timeoutMs} ms`)),
      timeoutMs,
    );
    deadline.unref();
    const sent = session.ping((err) => {
      clearTimeout(deadline);
      if (err && !session.destroyed) session.destroy(connectionReset(`${this.#authority}: HTTP/2 PING failed: ${err.message}`, err));
    });
    if (!sent) clearTimeout(deadline); // too many PINGs outstanding: the earlier ones' deadlines still stand
  }

  /** The TLS handshake ourselves, to read ALPN's answer before committing to HTTP/2. */
  #tlsConnect(onTimeout: (cancel: () => void) => void): Promise<tls.TLSSocket> {
    const { baseUrl, tls: material, alpn } = this.#opts;
    const host = baseUrl.hostname.replace(/^\[|\]$/g, '');
    // As the HTTPS agent does: SNI with the host name unless the kubeconfig
    // names one (tls-server-name); never an IP address.
    const servername = material.servername || (isIP(host) ? undefined : host);
    return new Promise((resolve, reject) => {
      const socket = tls.connect({
        host,
        port: Number(baseUrl.port || 443),
        ca: material.ca,
        cert: material.cert,
        key: material.key,
        ...(material.rejectUnauthorized !== undefined ? { rejectUnauthorized: material.rejectUnauthorized } : {}),
        ...(servername ? { servername } : {}),
        ALPNProtocols: alpn === 'require' ? ['h2'] : ['h2', 'http/1.1'],
      });
      const notNegotiated = (chosen: string, cause?: unknown): Error =>
        Object.assign(new Error(`${this.#authority} did not negotiate HTTP/2 (ALPN: ${chosen}); set api.transport to auto or http1`, { cause }), {
          code: 'ERR_HTTP2_NOT_NEGOTIATED',
        });
      const onError = (err: Error & { code?: string }): void =>
        // A server that knows ALPN but not h2 ends the handshake with this alert (Go's and Node's do).
        reject(err.code === 'ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL' ? notNegotiated('no protocol in common', err) : err);
      onTimeout(() => socket.destroy(connectTimeout(this.#authority)));
      socket.once('error', onError);
      socket.once('secureConnect', () => {
        socket.off('error', onError);
        if (socket.alpnProtocol === 'h2') return resolve(socket);
        socket.destroy();
        const chosen = socket.alpnProtocol || 'none';
        reject(alpn === 'prefer' ? new Http1Negotiated(`${this.#authority} chose ${chosen} in ALPN`) : notNegotiated(chosen));
      });
    });
  }
}

function connectTimeout(authority: string): Error {
  return Object.assign(new Error(`${authority}: connect timed out after ${CONNECT_TIMEOUT_MS} ms`), { code: 'ETIMEDOUT' });
}

function maxStreams(session: http2.ClientHttp2Session): number {
  return session.remoteSettings.maxConcurrentStreams ?? INITIAL_MAX_STREAMS;
}

// RFC 9113 §8.2.2: connection-specific header fields are malformed in HTTP/2.
const CONNECTION_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host']);

/** An HTTP/2 request's header block: pseudo-headers, lower-case names, no connection-specific fields. */
export function http2RequestHeaders(
  method: string,
  url: URL,
  headers: Record<string, string>,
  bodyLength: number | undefined,
): http2.OutgoingHttpHeaders {
  const out: http2.OutgoingHttpHeaders = {
    ':method': method,
    ':scheme': url.protocol.slice(0, -1),
    ':authority': url.host,
    ':path': `${url.pathname}${url.search}`,
  };
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (!CONNECTION_HEADERS.has(lower)) out[lower] = value;
  }
  if (bodyLength !== undefined) out['content-length'] = String(bodyLength);
  return out;
}

/** Node's HTTP/2 errors (ERR_HTTP2_*) become connection resets; anything else passes as it is. */
export function http2Failure(err: unknown): Error {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.startsWith('ERR_HTTP2_')) return connectionReset(`HTTP/2: ${(err as Error).message}`, err);
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * A stream slot, or the abort's reason if `signal` fires first (a request's
 * timeout covers waiting for a session too); a slot granted after the abort
 * is handed back.
 */
function acquireUnlessAborted(sessions: Http2Sessions, signal: AbortSignal | undefined): ReturnType<Http2Sessions['acquire']> {
  const acquiring = sessions.acquire();
  if (!signal) return acquiring;
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    acquiring.then(
      (slot) => {
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) slot.done();
        else resolve(slot);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

const UNSENT = Symbol('unsent');
const MAX_UNSENT_ATTEMPTS = 3;

function markUnsent(err: Error): Error {
  return Object.assign(err, { [UNSENT]: true });
}

/** Requests as streams on the shared sessions. */
export class Http2Sender implements HttpSender {
  readonly protocol: WireProtocol = 'h2';
  readonly sessions: Http2Sessions;

  constructor(sessions: Http2Sessions) {
    this.sessions = sessions;
  }

  /**
   * As Go's transport does, a request the server provably never processed
   * (its stream refused, or the session gone before the stream began, as
   * when kube-apiserver sends GOAWAY while shutting down) goes again on a
   * fresh session, whatever its method; other failures are the caller's.
   */
  async send(request: RawRequest): Promise<RawResponse> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#sendOnce(request);
      } catch (err) {
        if (attempt >= MAX_UNSENT_ATTEMPTS || !(err as { [UNSENT]?: boolean })[UNSENT] || request.signal?.aborted) throw err;
      }
    }
  }

  async #sendOnce(request: RawRequest): Promise<RawResponse> {
    const { signal, body } = request;
    if (signal?.aborted) throw abortReason(signal);
    const { session, done } = await acquireUnlessAborted(this.sessions, signal);
    return new Promise<RawResponse>((resolve, reject) => {
      let stream: http2.ClientHttp2Stream;
      try {
        stream = session.request(http2RequestHeaders(request.method, request.url, request.headers, body?.length), { endStream: !body });
      } catch (err) {
        done();
        const code = (err as { code?: unknown }).code;
        const failure = http2Failure(err);
        return reject(code === 'ERR_HTTP2_GOAWAY_SESSION' || code === 'ERR_HTTP2_INVALID_SESSION' ? markUnsent(failure) : failure);
      }
      const refused = (failure: Error): Error => (stream.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM ? markUnsent(failure) : failure);
      let answered = false;
      const cancel = (): void => stream.close(http2.constants.NGHTTP2_CANCEL);
      const onAbort = (): void => {
        cancel();
        reject(abortReason(signal!));
      };
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
      // The slot frees when the answer has ended ('close' follows a tick later).
      stream.once('end', done);
      stream.on('close', () => {
        done();
        signal?.removeEventListener('abort', onAbort);
        if (!answered) reject(refused(connectionReset(`HTTP/2 stream closed before an answer (code ${stream.rstCode})`)));
      });
      stream.on('error', (err) => {
        if (!answered) reject(refused(http2Failure(err)));
      });
      stream.on('response', (headers) => {
        answered = true;
        signal?.removeEventListener('abort', onAbort);
        resolve({
          status: Number(headers[':status'] ?? 0),
          headers,
          ...readableBody(stream, { cancel, signal, toError: http2Failure }),
        });
      });
      if (body) stream.end(body);
    });
  }

  reset(): void {
    this.sessions.destroyAll();
  }

  close(): void {
    this.sessions.close();
  }
}
