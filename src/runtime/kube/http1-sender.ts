import http from 'node:http';
import https from 'node:https';
import { abortReason, readableBody, type HttpSender, type RawRequest, type RawResponse, type TlsMaterial } from './http-sender.ts';

/** HTTP/1.1 over a keep-alive agent: many sockets, one request at a time on each. */
export class Http1Sender implements HttpSender {
  readonly protocol = 'http/1.1' as const;
  #agent: http.Agent;
  readonly #newAgent: () => http.Agent;
  readonly #transport: typeof http | typeof https;
  #onFirstResponse: (() => void) | undefined;

  constructor(baseUrl: URL, tls: TlsMaterial, onEstablished?: () => void) {
    const isHttps = baseUrl.protocol === 'https:';
    this.#transport = isHttps ? https : http;
    this.#newAgent = () => isHttps
      ? new https.Agent({
          keepAlive: true,
          maxSockets: 256,
          maxFreeSockets: 64,
          ca: tls.ca,
          cert: tls.cert,
          key: tls.key,
          ...(tls.rejectUnauthorized !== undefined ? { rejectUnauthorized: tls.rejectUnauthorized } : {}),
          ...(tls.servername ? { servername: tls.servername } : {}),
        })
      : new http.Agent({ keepAlive: true, maxSockets: 256 });
    this.#agent = this.#newAgent();
    this.#onFirstResponse = onEstablished;
  }

  send(request: RawRequest): Promise<RawResponse> {
    const { signal, body } = request;
    return new Promise<RawResponse>((resolve, reject) => {
      if (signal?.aborted) return reject(abortReason(signal));
      const req = this.#transport.request(request.url, {
        method: request.method,
        agent: this.#agent,
        headers: body ? { ...request.headers, 'Content-Length': body.length } : request.headers,
      });
      const onAbort = (): void => {
        req.destroy(abortReason(signal!));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      req.on('error', (err) => {
        signal?.removeEventListener('abort', onAbort);
        reject(err);
      });
      req.on('response', (res) => {
        // From here the body's own listener cancels on abort.
        signal?.removeEventListener('abort', onAbort);
        this.#onFirstResponse?.();
        this.#onFirstResponse = undefined;
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          ...readableBody(res, { cancel: () => req.destroy(), signal, toError: (err) => err as Error }),
        });
      });
      req.end(body);
    });
  }

  reset(): void {
    this.#agent.destroy();
    this.#agent = this.#newAgent();
  }

  close(): void {
    this.#agent.destroy();
  }
}
