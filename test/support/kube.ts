import { request as httpsRequest, type RequestOptions } from 'node:https';
import {
  ApiException,
  HttpMethod,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  type KubernetesObject,
  type ResponseContext,
} from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { waitFor } from './wait.ts';

export { waitFor, type WaitForOptions } from './wait.ts';

/**
 * Small helpers for tests that talk to a real API server through
 * @kubernetes/client-node 2.x (which tests may also use directly: its calls
 * take one object parameter, e.g. `core.createNamespace({ body })`).
 */

export function loadKubeConfig(path: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

/** HTTP status of a failed client-node call (or of a raw request error), if it has one. */
export function apiStatusCode(error: unknown): number | undefined {
  if (error instanceof ApiException) return error.code;
  if (typeof error === 'object' && error !== null) {
    const code = (error as { code?: unknown; statusCode?: unknown }).statusCode ?? (error as { code?: unknown }).code;
    if (typeof code === 'number') return code;
  }
  return undefined;
}

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

export function describeError(error: unknown): string {
  if (error instanceof ApiException) {
    // Typed APIs keep the body as text, PlainJsonObjectApi as parsed JSON.
    let body: unknown = error.body;
    if (typeof body === 'string') {
      try {
        body = JSON.parse(body);
      } catch {
        // Not JSON: report it as is.
      }
    }
    const message = typeof body === 'object' && body !== null && typeof (body as { message?: unknown }).message === 'string'
      ? (body as { message: string }).message
      : String(body);
    return `HTTP ${error.code}: ${message}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** Parses multi-document YAML (or JSON) into objects, flattening `kind: List`. */
export function parseManifests(text: string): KubernetesObject[] {
  const objects: KubernetesObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`Invalid YAML manifest: ${doc.errors[0]?.message}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    objects.push(...flattenList(value));
  }
  return objects;
}

function flattenList(value: unknown): KubernetesObject[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`A manifest must be a Kubernetes object, got ${JSON.stringify(value)?.slice(0, 80)}`);
  }
  const object = value as KubernetesObject & { items?: unknown[] };
  if (typeof object.kind === 'string' && object.kind.endsWith('List') && Array.isArray(object.items)) {
    return object.items.flatMap(flattenList);
  }
  return [object];
}

export interface ApplyOptions {
  /** Server-side apply field manager. Default `flotilla-test`. */
  fieldManager?: string;
  /** How long a CRD may take to become Established before objects after it are applied. */
  crdTimeoutMs?: number;
}

/**
 * Server-side applies (with `force`, as `kubectl apply --server-side
 * --force-conflicts` does) manifests given as YAML text or objects, and
 * returns what the server stored, as plain JSON.
 *
 * Namespaces and CRDs go first, and each CRD is awaited until Established,
 * so a single file may define a CRD and instances of it. Bodies are sent as
 * given, not through client-node's generated models, which drop fields they
 * do not know (newer than the client) without a word.
 */
export async function applyManifests(
  kc: KubeConfig,
  manifests: string | KubernetesObject | KubernetesObject[],
  options: ApplyOptions = {},
): Promise<KubernetesObject[]> {
  const objects = typeof manifests === 'string' ? parseManifests(manifests) : Array.isArray(manifests) ? manifests : [manifests];
  for (const object of objects) assertApplicable(object);
  const rank = (o: KubernetesObject) => (o.kind === 'Namespace' ? 0 : o.kind === 'CustomResourceDefinition' ? 1 : 2);
  const ordered = [...objects].sort((a, b) => rank(a) - rank(b)); // stable: keeps the given order otherwise
  const api = PlainJsonObjectApi.forKubeConfig(kc);
  const applied: KubernetesObject[] = [];
  for (const object of ordered) {
    const result = await api.serverSideApply(object, options.fieldManager ?? 'flotilla-test');
    applied.push(result);
    if (object.kind === 'CustomResourceDefinition' && object.apiVersion === 'apiextensions.k8s.io/v1') {
      await waitFor(
        async () => {
          const crd = (await api.read({ apiVersion: object.apiVersion, kind: object.kind, metadata: { name: object.metadata?.name ?? '' } })) as {
            status?: { conditions?: Array<{ type: string; status: string }> };
          };
          return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false;
        },
        { timeoutMs: options.crdTimeoutMs ?? 30_000, description: `CRD ${object.metadata?.name} to be Established` },
      );
    }
  }
  return applied;
}

function assertApplicable(object: KubernetesObject): void {
  if (!object.apiVersion || !object.kind || !object.metadata?.name) {
    throw new Error(`Cannot apply an object without apiVersion, kind and metadata.name: ${JSON.stringify(object).slice(0, 200)}`);
  }
}

/**
 * KubernetesObjectApi reused for its discovery-based URL building (it maps
 * kind to resource and knows which kinds are namespaced), with bodies and
 * responses kept as plain JSON.
 */
class PlainJsonObjectApi extends KubernetesObjectApi {
  static forKubeConfig(kc: KubeConfig): PlainJsonObjectApi {
    const api = kc.makeApiClient(PlainJsonObjectApi);
    api.setDefaultNamespace(kc);
    return api;
  }

  async serverSideApply(object: KubernetesObject, fieldManager: string): Promise<KubernetesObject> {
    const path = await this.specUriPath(object, 'patch');
    const context = this.configuration.baseServer.makeRequestContext(path, HttpMethod.PATCH);
    context.setHeaderParam('Accept', 'application/json');
    context.setHeaderParam('Content-Type', PatchStrategy.ServerSideApply);
    context.setQueryParam('fieldManager', fieldManager);
    context.setQueryParam('force', 'true');
    // JSON is YAML, so the apply-patch+yaml content type accepts it.
    context.setBody(JSON.stringify(object));
    return this.requestPromise(context);
  }

  protected override async processResponse<T extends KubernetesObject>(response: ResponseContext): Promise<T> {
    const text = await response.body.text();
    if (response.httpStatusCode >= 200 && response.httpStatusCode <= 299) return JSON.parse(text) as T;
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // Not JSON: keep the text.
    }
    throw new ApiException(response.httpStatusCode, 'Unsuccessful HTTP Request', body, response.headers);
  }
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
