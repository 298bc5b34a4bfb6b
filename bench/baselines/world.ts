/**
 * The desired state of the world as the baselines compute it: targeting from
 * the independent oracle (test/support/oracle.ts, written from the rules in
 * docs/architecture.md#targeting without src/placement), and the objects'
 * bodies from the API schema (src/api) and the naming rules in
 * docs/architecture.md#deterministic-names (deterministic deployment
 * namespace, content-addressed Content, BundleDeployment named after its
 * Bundle with the four placement labels). Shared by `direct` and `naive` so
 * the two baselines write the same objects and differ only in how and how
 * often they write them.
 */
import { API_VERSION, Kind, Label, WORKSPACE_LABEL_VALUE } from '../../src/api/constants.ts';
import { contentDigest, contentNameFor } from '../../src/api/content-name.ts';
import { deploymentIDFor } from '../../src/api/deployment-id.ts';
import { deploymentNamespaceFor, deploymentNamespaceLabels } from '../../src/placement/deployment-namespace.ts';
import type { KubeObject } from '../../src/runtime/kube/resource.ts';
import { bundleDeploymentIsReady, targetedClusterNames, type OracleBundle, type OracleBundleDeployment, type OracleCluster, type OracleWorld } from '../../test/support/oracle.ts';

export interface Resource {
  name: string;
  content: string;
}

export interface BundleLike extends KubeObject {
  spec?: { resources?: Resource[]; targets?: unknown[] };
  status?: Record<string, unknown>;
}

export const NON_READY_CLUSTERS_MAX = 10;

export function isWorkspace(ns: KubeObject | undefined): boolean {
  return ns?.metadata.labels?.[Label.Workspace] === WORKSPACE_LABEL_VALUE && ns.metadata.labels?.[Label.ManagedBy] !== 'flotilla';
}

export function oracleWorld(clusters: Iterable<KubeObject>, bundles: Iterable<KubeObject>, isWs: (ns: string) => boolean): OracleWorld {
  return { clusters: [...clusters] as OracleCluster[], clusterGroups: [], bundles: [...bundles] as OracleBundle[], isWorkspace: isWs };
}

export function targetsOf(bundle: KubeObject, world: OracleWorld): string[] {
  return targetedClusterNames(bundle as OracleBundle, world);
}

export function contentNameOf(bundle: BundleLike): string {
  return contentNameFor(bundle.spec?.resources ?? []);
}

export function contentObject(bundle: BundleLike): KubeObject {
  const resources = bundle.spec?.resources ?? [];
  return { apiVersion: API_VERSION, kind: Kind.Content, metadata: { name: contentNameFor(resources) }, spec: { sha256: contentDigest(resources), resources } };
}

export function deploymentNamespaceObject(workspace: string, cluster: string): KubeObject {
  return { metadata: { name: deploymentNamespaceFor(workspace, cluster), labels: deploymentNamespaceLabels(workspace, cluster) } };
}

export function bundleDeploymentObject(bundle: BundleLike, cluster: string): KubeObject {
  const workspace = bundle.metadata.namespace ?? '';
  const name = bundle.metadata.name ?? '';
  const contentName = contentNameOf(bundle);
  return {
    apiVersion: API_VERSION,
    kind: Kind.BundleDeployment,
    metadata: {
      name,
      namespace: deploymentNamespaceFor(workspace, cluster),
      labels: { [Label.BundleName]: name, [Label.BundleNamespace]: workspace, [Label.ClusterName]: cluster, [Label.ClusterNamespace]: workspace },
    },
    spec: { contentName, deploymentID: deploymentIDFor(contentName, undefined), paused: false },
  };
}

/** `workspace/bundle@cluster`: the key the baselines track BundleDeployments by. */
export function placementKey(workspace: string, bundle: string, cluster: string): string {
  return `${workspace}/${bundle}@${cluster}`;
}

export function placementKeyOfBundleDeployment(bd: KubeObject): string | undefined {
  const l = bd.metadata.labels ?? {};
  const [b, ns, c] = [l[Label.BundleName], l[Label.BundleNamespace], l[Label.ClusterName]];
  return b && ns && c ? placementKey(ns, b, c) : undefined;
}

interface Counts {
  desiredReady: number;
  ready: number;
  notReady: number;
  pending: number;
  modified: number;
  errApplied: number;
  waitApplied: number;
  outOfSync: number;
}

function counts(targeted: readonly string[], bdOf: (cluster: string) => OracleBundleDeployment | undefined): { counts: Counts; nonReady: string[] } {
  const c: Counts = { desiredReady: targeted.length, ready: 0, notReady: 0, pending: 0, modified: 0, errApplied: 0, waitApplied: 0, outOfSync: 0 };
  const nonReady: string[] = [];
  for (const cluster of targeted) {
    const bd = bdOf(cluster);
    if (bd === undefined) c.pending++;
    else if (bundleDeploymentIsReady(bd)) c.ready++;
    else if (bd.status?.appliedDeploymentID === undefined) c.waitApplied++;
    else c.notReady++;
    if (bd === undefined || !bundleDeploymentIsReady(bd)) nonReady.push(cluster);
  }
  return { counts: c, nonReady };
}

/** A Bundle's status (docs/architecture.md#bundle-status: observedGeneration, summary counts, nonReadyClusters, display). */
export function bundleStatus(bundle: BundleLike, targeted: readonly string[], bdOf: (cluster: string) => OracleBundleDeployment | undefined): Record<string, unknown> {
  const { counts: c, nonReady } = counts(targeted, bdOf);
  return {
    observedGeneration: bundle.metadata.generation,
    summary: { ...c, nonReadyClusters: nonReady.slice(0, NON_READY_CLUSTERS_MAX) },
    display: { readyClusters: `${c.ready}/${c.desiredReady}` },
    contentName: contentNameOf(bundle),
  };
}

/** A Cluster's status: its deployment namespace and the counts of its BundleDeployments. */
export function clusterStatus(cluster: KubeObject, bundleDeployments: readonly OracleBundleDeployment[]): Record<string, unknown> {
  const { counts: c } = counts(
    bundleDeployments.map((_, i) => String(i)),
    (i) => bundleDeployments[Number(i)],
  );
  return {
    observedGeneration: cluster.metadata.generation,
    namespace: deploymentNamespaceFor(cluster.metadata.namespace ?? '', cluster.metadata.name ?? ''),
    summary: c,
    display: { readyBundles: `${c.ready}/${c.desiredReady}` },
  };
}

/** Whether `current` already holds every field of `desired` with the same value (what a merge patch would change). */
export function containsAll(current: unknown, desired: unknown): boolean {
  if (desired === null || typeof desired !== 'object' || Array.isArray(desired)) return JSON.stringify(current) === JSON.stringify(desired);
  if (current === null || typeof current !== 'object' || Array.isArray(current)) return false;
  const cur = current as Record<string, unknown>;
  return Object.entries(desired as Record<string, unknown>).every(([k, v]) => v === undefined || containsAll(cur[k], v));
}
