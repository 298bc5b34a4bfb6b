/**
 * Sends the Bundle: one server-side apply with field manager
 * `flotilla-apply`, so a re-run owns exactly the fields it sets and drops
 * those it no longer sets. `force` takes fields over from other managers
 * (as `kubectl apply --server-side --force-conflicts`), but never silently:
 * the apply is tried without force first, and the conflicts it reports are
 * handed back to be shown before the forced apply takes them.
 *
 * created / configured / unchanged comes from the server, not from a local
 * comparison: absent before, or the resourceVersion the apply returned
 * (the API server skips the write of an apply that changes nothing, so the
 * resourceVersion stays).
 */
import type { Bundle } from '../api/bundle.ts';
import { KindResources } from '../api/kinds.ts';
import { ApiError } from '../runtime/errors.ts';
import type { KubeClient } from '../runtime/kube/client.ts';
import type { KubeObject } from '../runtime/kube/resource.ts';
import { BUNDLE_RESOURCE } from './bundle-diff.ts';

export const FIELD_MANAGER = 'flotilla-apply';

export type ApplyOutcome = 'created' | 'configured' | 'unchanged';

export interface ApplyResult {
  outcome: ApplyOutcome;
  stored: Bundle;
  /** Fields taken over from other managers: `.spec.paused (from "kubectl-edit")`. */
  takenOver: string[];
}

type Client = Pick<KubeClient, 'get' | 'apply' | 'server'>;

const BUNDLES = KindResources.Bundle;

/** The Bundle as stored, or undefined when there is none. */
export async function readLiveBundle(client: Client, name: string, namespace: string): Promise<Bundle | undefined> {
  try {
    return await client.get<Bundle & KubeObject>(BUNDLES, name, namespace);
  } catch (error) {
    // A 404 also comes back when the CRD is missing; the apply that follows says which.
    if (error instanceof ApiError && error.statusCode === 404) return undefined;
    throw error;
  }
}

export async function applyBundle(client: Client, bundle: Bundle): Promise<ApplyResult> {
  const { name, namespace } = bundle.metadata;
  const live = await readLiveBundle(client, name, namespace as string);
  const body = bundle as Bundle & KubeObject;
  let takenOver: string[] = [];
  let stored: Bundle;
  if (live === undefined) {
    stored = await client.apply<Bundle & KubeObject>(BUNDLES, body, { fieldManager: FIELD_MANAGER, force: true });
  } else {
    try {
      stored = await client.apply<Bundle & KubeObject>(BUNDLES, body, { fieldManager: FIELD_MANAGER, force: false });
    } catch (error) {
      if (!(error instanceof ApiError) || error.statusCode !== 409) throw error;
      takenOver = conflictingFields(error);
      stored = await client.apply<Bundle & KubeObject>(BUNDLES, body, { fieldManager: FIELD_MANAGER, force: true });
    }
  }
  const outcome: ApplyOutcome =
    live === undefined ? 'created' : live.metadata.resourceVersion === stored.metadata.resourceVersion ? 'unchanged' : 'configured';
  return { outcome, stored, takenOver };
}

/** The Bundle as the apply would leave it (a server-side dry run), for --diff. */
export async function dryRunApply(client: Client, bundle: Bundle): Promise<Bundle> {
  return client.apply<Bundle & KubeObject>(BUNDLES, bundle as Bundle & KubeObject, { fieldManager: FIELD_MANAGER, force: true, dryRun: true });
}

/** `.spec.paused (from "kubectl-edit")` for each conflict of a 409 apply. */
export function conflictingFields(error: ApiError): string[] {
  const causes = (error.body as { details?: { causes?: Array<{ field?: string; message?: string }> } } | undefined)?.details?.causes ?? [];
  const fields = causes.map((cause) => {
    const manager = /conflict with "([^"]*)"/.exec(cause.message ?? '')?.[1];
    return `${cause.field ?? '?'}${manager === undefined ? '' : ` (from "${manager}")`}`;
  });
  return fields.length > 0 ? fields : [String((error.body as { message?: string } | undefined)?.message ?? error.message)];
}

/**
 * One sentence for an API failure an operator can act on; undefined for
 * anything else (shown as the server said it).
 */
export function explainApplyError(error: unknown, server: string, namespace: string): string | undefined {
  if (error instanceof ApiError) {
    const message = String((error.body as { message?: unknown } | undefined)?.message ?? error.message);
    switch (error.statusCode) {
      case 401:
        return `the API server at ${server} rejected the credentials (401 Unauthorized); check the user of the kubeconfig context`;
      case 403:
        return `forbidden: ${message}; the user needs get and patch on ${BUNDLE_RESOURCE.replace(/^bundle/, 'bundles')} in namespace ${namespace}`;
      case 404:
        if (/namespaces? "[^"]*" not found/.test(message)) {
          return `the namespace ${namespace} does not exist on ${server}; create it as a workspace (labelled flotilla.dev/workspace=true) or pass the right -n`;
        }
        return `the Flotilla CRDs are not installed (${BUNDLE_RESOURCE.replace(/^bundle/, 'bundles')} not found on ${server}); install them with kubectl apply --server-side -k config/crd`;
      case 422:
        return `the API server refused the Bundle: ${message}`;
      default:
        return undefined;
    }
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && ['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET'].includes(code)) {
    return `cannot reach the API server at ${server}: ${(error as Error).message}; check --kubeconfig / --context and that the cluster is running`;
  }
  return undefined;
}
