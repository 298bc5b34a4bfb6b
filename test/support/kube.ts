import { request as httpsRequest, type RequestOptions } from 'node:https';
import { type KubeConfig } from '@kubernetes/client-node';
import { apiStatusCode, describeError } from '../../src/controlplane/manifests.ts';

export { waitFor, type WaitForOptions } from '../../src/util/wait.ts';
export { apiStatusCode, applyManifests, describeError, loadKubeConfig, parseManifests, type ApplyOptions } from '../../src/controlplane/manifests.ts';

/**
 * Small helpers for tests that talk to a real API server through
 * @kubernetes/client-node 2.x (which tests may also use directly: its calls
 * take one object parameter, e.g. `core.createNamespace({ body })`).
 */

/** Awaits `promise`, expecting it to fail with HTTP `status`; returns the error. */
export async function expectApiStatus(promise: Promise<unknown>, status: number, what = 'the request'): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    const actual = apiStatusCode(error);
    if (actual === status) return error;
    throw new Error(`Expected ${what} to fail with HTTP ${status}, but it failed with ${actual ?? 'no status'}: ${describeError(error)}`);
  }
  throw new Error(`Expected ${what} to fail with HTTP ${status}, but it succeeded.`);
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON when the body is JSON, else the text. */
  body: unknown;
}

/**
 * A request the typed clients cannot express (query parameters such as
 * `timeout`, or a watch from a chosen resourceVersion), authenticated with
 * the kubeconfig's credentials.
 */
export async function kubeRequest(
  kc: KubeConfig,
  request: { method?: string; path: string; body?: unknown; contentType?: string; timeoutMs?: number },
): Promise<RawResponse> {
  const { options, url } = await requestOptions(kc, request.path, request.method ?? 'GET', request.timeoutMs);
  const payload = request.body === undefined ? undefined : typeof request.body === 'string' ? request.body : JSON.stringify(request.body);
  if (payload !== undefined) options.headers = { ...options.headers, 'content-type': request.contentType ?? 'application/json' };
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // Plain text (e.g. /readyz): keep it.
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${request.method ?? 'GET'} ${request.path} timed out after ${request.timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

export interface WatchStart {
  /** HTTP status of the watch request itself. */
  status: number;
  /** The first event on the stream (or, for a non-200 answer, the Status object as an ERROR event). */
  event: { type: string; object: Record<string, unknown> } | undefined;
}

/**
 * Opens a watch (`path` must carry `watch=1` and any resourceVersion) and
 * returns its first event, then closes it. A resourceVersion the server can
 * no longer serve surfaces either as HTTP 410 or as an `ERROR` event whose
 * object is a Status with code 410, depending on which layer noticed.
 */
export async function firstWatchEvent(kc: KubeConfig, path: string, timeoutMs = 10_000): Promise<WatchStart> {
  const { options, url } = await requestOptions(kc, path, 'GET', timeoutMs);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, options, (res) => {
      let buffered = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffered += chunk;
        const newline = buffered.indexOf('\n');
        if (res.statusCode === 200 && newline >= 0) {
          resolve({ status: 200, event: JSON.parse(buffered.slice(0, newline)) as WatchStart['event'] });
          req.destroy();
        }
      });
      res.on('end', () => {
        if (res.statusCode === 200) {
          resolve({ status: 200, event: buffered.trim() ? (JSON.parse(buffered) as WatchStart['event']) : undefined });
          return;
        }
        let object: Record<string, unknown> = { message: buffered };
        try {
          object = JSON.parse(buffered) as Record<string, unknown>;
        } catch {
          // Keep the text.
        }
        resolve({ status: res.statusCode ?? 0, event: { type: 'ERROR', object } });
      });
      res.on('error', (error) => {
        // Our own destroy() after resolving lands here; anything else is real.
        if (!req.destroyed) reject(error);
      });
    });
    req.on('timeout', () => req.destroy(new Error(`watch ${path} produced no event within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

async function requestOptions(kc: KubeConfig, path: string, method: string, timeoutMs: number | undefined): Promise<{ options: RequestOptions; url: URL }> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('The kubeconfig has no current cluster.');
  const url = new URL(path, cluster.server);
  const options: RequestOptions = { method, headers: { accept: 'application/json' }, agent: false };
  if (timeoutMs !== undefined) options.timeout = timeoutMs;
  await kc.applyToHTTPSOptions(options);
  return { options, url };
}
