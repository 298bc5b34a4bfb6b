import { Http1Sender } from './http1-sender.ts';
import type { ApiTransport, HttpSender, RawRequest, RawResponse, TlsMaterial, WireProtocol } from './http-sender.ts';
import { Http1Negotiated, Http2Sender, Http2Sessions, type Http2Health } from './http2-session.ts';

export interface SenderHooks {
  /** The first answer (HTTP/1.1) or session (HTTP/2) of this sender. */
  onEstablished: (protocol: WireProtocol) => void;
  /** Every HTTP/2 session opened. */
  onSessionOpened: () => void;
}

/**
 * The sender `api.transport` asks for. `auto` behaves as client-go: HTTP/2
 * when the server offers it in ALPN, HTTP/1.1 when it does not or the
 * server is plain http:// (client-go never tries h2c). `http2` over
 * http:// speaks HTTP/2 without TLS by prior knowledge.
 */
export function createSender(
  transport: ApiTransport,
  baseUrl: URL,
  tls: TlsMaterial,
  hooks: SenderHooks,
  health: Http2Health = {},
): HttpSender {
  const http1 = (): Http1Sender => new Http1Sender(baseUrl, tls, () => hooks.onEstablished('http/1.1'));
  if (transport === 'http1' || (transport === 'auto' && baseUrl.protocol !== 'https:')) return http1();
  const sessions = (alpn: 'require' | 'prefer'): Http2Sessions => {
    let first = true;
    return new Http2Sessions({
      baseUrl,
      tls,
      alpn,
      ...health,
      onSessionOpened: () => {
        hooks.onSessionOpened();
        if (first) hooks.onEstablished('h2');
        first = false;
      },
    });
  };
  if (transport === 'http2') return new Http2Sender(sessions('require'));
  return new AutoSender(new Http2Sender(sessions('prefer')), http1);
}

/** HTTP/2 until the server's ALPN answer says HTTP/1.1; then HTTP/1.1 for the sender's life. */
class AutoSender implements HttpSender {
  readonly #h2: Http2Sender;
  readonly #newHttp1: () => Http1Sender;
  #h1: Http1Sender | undefined;

  constructor(h2: Http2Sender, newHttp1: () => Http1Sender) {
    this.#h2 = h2;
    this.#newHttp1 = newHttp1;
  }

  get protocol(): WireProtocol | undefined {
    if (this.#h1) return 'http/1.1';
    return this.#h2.sessions.opened > 0 ? 'h2' : undefined;
  }

  async send(request: RawRequest): Promise<RawResponse> {
    if (this.#h1) return this.#h1.send(request);
    try {
      return await this.#h2.send(request);
    } catch (err) {
      if (!(err instanceof Http1Negotiated)) throw err;
      if (!this.#h1) {
        this.#h1 = this.#newHttp1();
        this.#h2.close();
      }
      return this.#h1.send(request);
    }
  }

  reset(): void {
    (this.#h1 ?? this.#h2).reset();
  }

  close(): void {
    this.#h2.close();
    this.#h1?.close();
  }
}
