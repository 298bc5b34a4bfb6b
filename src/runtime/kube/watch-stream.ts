import type { WatchEvent } from './api-types.ts';
import { buildUrl } from './connection.ts';
import type { KubeObject } from './resource.ts';
import { parseRetryAfter, toApiError } from './responses.ts';
import type { RestTransport } from './rest-transport.ts';
import { WatchDecoder } from './watch-decoder.ts';

export interface WatchRequest {
  path: string;
  query: Record<string, string | number | boolean | undefined>;
  /** Metrics label, e.g. `bundles.flotilla.dev`. */
  resource: string;
  /** Abort when nothing (not even a bookmark) arrives for this long. */
  idleTimeoutMs: number;
  signal?: AbortSignal | undefined;
}

/**
 * Runs one watch as a long-lived stream we control (client-node's own watch
 * is killed after 30 s in 2.0, client-node #3020): resolves when the server
 * ends it or `signal` aborts, rejects on a failure or a non-200 answer.
 */
export async function streamWatch<T extends KubeObject>(
  transport: RestTransport,
  request: WatchRequest,
  onEvent: (event: WatchEvent<T>) => void,
): Promise<void> {
  const { resource, idleTimeoutMs, signal } = request;
  const metrics = transport.metrics;
  const conn = await transport.admit('GET');
  const url = buildUrl(conn.baseUrl, request.path, request.query);
  const started = performance.now();
  const ended = metrics.started('watch', resource);
  try {
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (err?: unknown): void => {
        if (settled) return;
        settled = true;
        clearTimeout(idle);
        signal?.removeEventListener('abort', onAbort);
        if (err === undefined) resolve();
        else reject(err);
      };
      let idle: NodeJS.Timeout = setTimeout(() => {}, 0);
      const req = conn.transport.request(url, { method: 'GET', agent: conn.agent, headers: transport.headers(conn) }, (res) => {
        const status = res.statusCode ?? 0;
        metrics.completed('watch', 'GET', resource, status);
        metrics.latency('GET', (performance.now() - started) / 1000);
        if (status !== 200) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', finish);
          res.on('end', () =>
            finish(
              toApiError({ verb: 'watch', resource }, status, Buffer.concat(chunks).toString('utf8'), parseRetryAfter(res.headers['retry-after'])),
            ),
          );
          return;
        }
        const decoder = new WatchDecoder<T>(resource);
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          idle.refresh();
          try {
            decoder.push(chunk, onEvent);
          } catch (err) {
            req.destroy();
            finish(err);
          }
        });
        res.on('error', finish);
        res.on('aborted', () => finish(Object.assign(new Error(`watch ${resource}: stream aborted`), { code: 'ECONNRESET' })));
        res.on('end', () => finish());
      });
      idle = setTimeout(() => {
        req.destroy(Object.assign(new Error(`watch ${resource}: no data for ${idleTimeoutMs} ms`), { code: 'ETIMEDOUT' }));
      }, idleTimeoutMs);
      const onAbort = (): void => {
        req.destroy();
        finish();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      if (signal?.aborted) onAbort();
      req.on('error', (err) => {
        if (!settled) metrics.completed('watch', 'GET', resource, '<error>');
        finish(err);
      });
      req.end();
    });
  } finally {
    ended();
  }
}
