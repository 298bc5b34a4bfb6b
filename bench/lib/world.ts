/**
 * Seeding and resetting the benchmark's world with the admin client:
 * bounded-concurrency writes (these are setup, never timed), and the
 * deletions/status restores that put the world back into a scenario's
 * starting state between systems.
 */
import { Label, WORKSPACE_LABEL_VALUE } from '../../src/api/constants.ts';
import { KindResources as T } from '../../src/api/kinds.ts';
import { ApiError } from '../../src/runtime/errors.ts';
import { PatchType, type KubeClient } from '../../src/runtime/kube/client.ts';
import { builtinTypes, type KubeObject } from '../../src/runtime/kube/resource.ts';
import { mapConcurrent } from '../../test/support/flotilla.ts';

export const SEED_CONCURRENCY = 32;

export async function createWorkspace(admin: KubeClient, name: string): Promise<void> {
  await ignore409(admin.create(builtinTypes.namespace, { metadata: { name, labels: { [Label.Workspace]: WORKSPACE_LABEL_VALUE } } }));
}

export function configMap(name: string): string {
  return `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  owner: ${name}\n`;
}

export async function createClusters(admin: KubeClient, workspace: string, clusters: Array<{ name: string; labels: Record<string, string> }>): Promise<void> {
  await mapConcurrent(clusters, SEED_CONCURRENCY, (c) => ignore409(admin.create(T.Cluster, { metadata: { name: c.name, namespace: workspace, labels: c.labels }, spec: {} })));
}

/** Bundles with their own one-ConfigMap content each (so each has its own Content, as distinct repos would). */
export async function createBundles(admin: KubeClient, workspace: string, bundles: Array<{ name: string; targets: unknown[] }>): Promise<void> {
  await mapConcurrent(bundles, SEED_CONCURRENCY, (b) =>
    ignore409(admin.create(T.Bundle, { metadata: { name: b.name, namespace: workspace }, spec: { resources: [{ name: 'cm.yaml', content: configMap(b.name) }], targets: b.targets } })),
  );
}

/** DELETE on the collection: every BundleDeployment of one namespace in one request. */
export async function deleteBundleDeploymentsIn(admin: KubeClient, namespace: string): Promise<void> {
  await admin.request({
    verb: 'delete',
    method: 'DELETE',
    path: `/apis/${T.BundleDeployment.group}/${T.BundleDeployment.version}/namespaces/${namespace}/${T.BundleDeployment.plural}`,
    resource: `${T.BundleDeployment.plural}.${T.BundleDeployment.group}`,
  });
}

export async function mergePatchStatus(admin: KubeClient, kind: 'Bundle' | 'Cluster', obj: KubeObject, status: unknown): Promise<void> {
  await admin.patch(T[kind], obj.metadata.name ?? '', obj.metadata.namespace, { status }, { contentType: PatchType.merge, subresource: 'status' });
}

export async function ignore409(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!(err instanceof ApiError && err.statusCode === 409)) throw err;
  }
}

export async function ignore404(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!(err instanceof ApiError && err.statusCode === 404)) throw err;
  }
}

export { mapConcurrent };
