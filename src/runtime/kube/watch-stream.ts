import { StringDecoder } from 'node:string_decoder';
import type { WatchEvent } from './api-types.ts';
import { buildUrl } from './connection.ts';
import type { RawResponse } from './http-sender.ts';
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
  // Silence for idleTimeoutMs cancels the request, or its body once answered.
  const idle = new AbortController();
  const idleTimer = setTimeout(
    () => idle.abort(Object.assign(new Error(`watch ${resource}: no data for ${idleTimeoutMs} ms`), { code: 'ETIMEDOUT' })),
    idleTimeoutMs,
  );
  try {
    let res: RawResponse;
    try {
      res = await conn.sender.send({
        method: 'GET',
        url,
        headers: transport.headers(conn),
        signal: signal ? AbortSignal.any([signal, idle.signal]) : idle.signal,
      });
    } catch (err) {
      if (signal?.aborted) return;
      metrics.completed('watch', 'GET', resource, '<error>');
      throw err;
    }
    metrics.completed('watch', 'GET', resource, res.status);
    metrics.latency('GET', (performance.now() - started) / 1000);
    try {
      if (res.status !== 200) {
        const chunks: Buffer[] = [];
        await res.read((c) => chunks.push(c));
        throw toApiError({ verb: 'watch', resource }, res.status, Buffer.concat(chunks).toString('utf8'), parseRetryAfter(res.headers['retry-after']));
      }
      const decoder = new WatchDecoder<T>(resource);
      const text = new StringDecoder('utf8');
      await res.read((chunk) => {
        idleTimer.refresh();
        decoder.push(text.write(chunk), onEvent);
      });
    } catch (err) {
      if (signal?.aborted) return;
      throw err;
    }
  } finally {
    clearTimeout(idleTimer);
    ended();
  }
}
