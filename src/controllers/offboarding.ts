import { Finalizer, Kind } from '../api/constants.ts';
import { deploymentNamespaceFor } from '../placement/deployment-namespace.ts';
import { ignoreNotFound } from '../runtime/errors.ts';
import { objectKey, type KubeObject } from '../runtime/kube/resource.ts';
import { forEachLimit } from './parallel.ts';
import { PlacementContext, type BundleObject, type ClusterObject } from './placement-context.ts';

/**
 * Offboarding: what happens to a Cluster or Bundle whose namespace stopped
 * being a workspace (a label removed, a config reload that changed the
 * mode, selector or list). It is level-triggered and idempotent: the
 * Cluster and Bundle reconcilers call it for every object in a namespace
 * that is not a workspace, and the marker of "not yet offboarded" is our
 * finalizer on the object. An object without it has nothing to do (it was
 * never managed, or its offboarding finished), so the objects of an
 * ordinary non-workspace namespace cost one cache read each and no write.
 * A crash half-way leaves the finalizer in place and the next reconcile
 * (restart's initial list, or a retry) finishes the job.
 *
 * `workspaces.offboard`:
 * - `retain` (default): Flotilla stops managing the namespace. Its
 *   BundleDeployments and the deployment namespaces of its Clusters are left
 *   exactly as they are (a mistyped selector must not wipe the fleet); no
 *   new BundleDeployment is made, none is updated or deleted, not even when
 *   a Bundle there is deleted later. Cleaning them up is the operator's call
 *   (they carry `flotilla.dev/bundle-namespace` / `flotilla.dev/cluster-namespace`
 *   labels), or onboarding the namespace again resumes management.
 * - `delete`: the BundleDeployments of the namespace's Bundles and the
 *   deployment namespaces of its Clusters are deleted (reason `Offboarded`
 *   in `flotilla_writes_total`).
 *
 * In both modes our finalizers are removed (reason `Offboarded`): a
 * finalizer is a promise that a controller will clean up, and no controller
 * acts on an object outside the workspace set, so keeping it would make a
 * later `kubectl delete` of the Cluster, the Bundle or the whole namespace
 * hang. Onboarding the namespace again puts them back.
 *
 * The mode in effect at the moment of offboarding decides; changing
 * `offboard` afterwards does not revisit namespaces already offboarded.
 */

const WRITE_PARALLELISM = 16;
export const OFFBOARDED = 'Offboarded';

/** Whether `obj` still carries `finalizer`, i.e. its offboarding is not done yet. */
function pending(obj: KubeObject, finalizer: string): boolean {
  return (obj.metadata.finalizers ?? []).includes(finalizer);
}

export async function offboardCluster(ctx: PlacementContext, cluster: ClusterObject, signal: AbortSignal): Promise<void> {
  if (!pending(cluster, Finalizer.ClusterCleanup)) return;
  if (ctx.workspaces.config.offboard === 'delete') {
    const nsName = deploymentNamespaceFor(cluster.metadata.namespace ?? '', cluster.metadata.name);
    const nsObj = ctx.writer.fresher('Namespace', nsName, ctx.namespaces.store.get(nsName));
    // Deleting the namespace removes its BundleDeployments with it; the
    // finalizer can go as soon as the deletion is accepted.
    if (nsObj && !nsObj.metadata.deletionTimestamp && PlacementContext.ownsDeploymentNamespace(objectKey(cluster), nsObj)) {
      await ignoreNotFound(ctx.writer.delete('Namespace', nsObj, OFFBOARDED, signal));
    }
  }
  const finalizers = (cluster.metadata.finalizers ?? []).filter((f) => f !== Finalizer.ClusterCleanup);
  await ctx.writer.setFinalizers(Kind.Cluster, cluster, finalizers, OFFBOARDED, signal);
}

export async function offboardBundle(ctx: PlacementContext, bundle: BundleObject, existing: readonly KubeObject[], signal: AbortSignal): Promise<void> {
  if (!pending(bundle, Finalizer.BundleCleanup)) return;
  if (ctx.workspaces.config.offboard === 'delete') {
    const live = existing.filter((bd) => !bd.metadata.deletionTimestamp);
    await forEachLimit(live, WRITE_PARALLELISM, (bd) => ignoreNotFound(ctx.writer.delete(Kind.BundleDeployment, bd, OFFBOARDED, signal)));
  }
  const finalizers = (bundle.metadata.finalizers ?? []).filter((f) => f !== Finalizer.BundleCleanup);
  await ctx.writer.setFinalizers(Kind.Bundle, bundle, finalizers, OFFBOARDED, signal);
}

/**
 * A Bundle that is gone (deleted without our finalizer) in a namespace that
 * is not a workspace: in `retain` mode its BundleDeployments are left alone.
 */
export function retainsOrphans(ctx: PlacementContext, namespace: string | undefined): boolean {
  return ctx.workspaces.config.offboard === 'retain' && !ctx.isWorkspace(namespace);
}
