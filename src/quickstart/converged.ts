/**
 * What the quick start prints when the demo has converged: what was applied
 * where, what stays not ready and why, and how to look at each cluster.
 */
import type { ResourceRef } from './cluster-progress.ts';
import type { Snapshot } from './progress.ts';

export interface ConvergedContext {
  managementKubeconfig: string;
  /** Admin kubeconfig per downstream cluster (by Cluster name). */
  downstreamKubeconfigs: ReadonlyMap<string, string>;
  workspace: string;
  logs: { controller: string; agents: readonly string[] };
}

/** Kinds whose readiness needs Pods running on nodes, which the local downstream clusters lack. */
const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Pod', 'Job']);

export function convergedMessage(s: Snapshot, elapsedMs: number, ctx: ConvergedContext): string {
  const readiness = s.clusters.map((c) => `${c.name}: ${c.readyIsUpperBound ? '≤' : ''}${c.resourcesReady}/${c.resourcesApplied} resources ready`).join(', ');
  const lines = [
    `Converged in ${(elapsedMs / 1000).toFixed(1)} s: ${s.bundleDeploymentsApplied}/${s.bundleDeployments} BundleDeployments applied by the agents of ${s.clusters.length} Clusters (${readiness}).`,
    ...notReadyLines(s),
    'Inspect what each agent applied to its downstream cluster (kubectl):',
    ...[...ctx.downstreamKubeconfigs].map(([, kubeconfig]) => `  export KUBECONFIG=${kubeconfig}; kubectl get configmaps,services,deployments -A -l applyset.kubernetes.io/part-of`),
    'and the management cluster:',
    `  export KUBECONFIG=${ctx.managementKubeconfig}`,
    `  kubectl get bundles,clusters,clustergroups -n ${ctx.workspace}`,
    '  kubectl get bundledeployments -A',
    `Add a Bundle from a directory of manifests (while KUBECONFIG points at the management cluster):`,
    `  npx flotilla apply hello config/samples/apply/hello -n ${ctx.workspace}`,
    `Logs: the agents' in ${ctx.logs.agents.join(', ')}; the controller's in ${ctx.logs.controller}.`,
    `Change a Cluster's labels (e.g. kubectl label cluster -n ${ctx.workspace} staging-eu-1 env=prod --overwrite) and watch it converge again.`,
    'Press Ctrl-C to stop: the agents stop, the controller shuts down gracefully, then the local clusters stop.',
  ];
  return lines.join('\n');
}

/** One line per resource that stays not ready, with the clusters it is on and why. */
function notReadyLines(s: Snapshot): string[] {
  const byResource = new Map<string, { ref: ResourceRef; clusters: string[] }>();
  for (const cluster of s.clusters) {
    for (const ref of cluster.nonReady) {
      const key = `${ref.kind}/${ref.namespace ?? ''}/${ref.name}`;
      const entry = byResource.get(key) ?? { ref, clusters: [] };
      entry.clusters.push(cluster.name);
      byResource.set(key, entry);
    }
  }
  return [...byResource.values()].map(({ ref, clusters }) => {
    const name = `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
    const why = ref.message ? ` (the agent reports "${ref.message}")` : '';
    const where = `on ${clusters.join(' and ')}`;
    return WORKLOAD_KINDS.has(ref.kind)
      ? `${name} stays not ready ${where}${why}: the local downstream clusters have no nodes (and no controller manager), so its Pods never run. On a real cluster it becomes ready.`
      : `${name} is not ready ${where}${why}.`;
  });
}
