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
import { waitFor } from '../util/wait.ts';

/**
 * Applying YAML manifests the way `kubectl apply --server-side` does, for the
 * local control plane (CRDs, RBAC, the quick start's demo workspace), the
 * benchmarks and the tests. The controller itself never applies manifests:
 * it writes through runtime/kube/client.ts.
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
  /** Server-side apply field manager. Default `flotilla-setup` (not the controller's own `flotilla`, so the two never share fields). */
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
    const result = await api.serverSideApply(object, options.fieldManager ?? 'flotilla-setup');
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
