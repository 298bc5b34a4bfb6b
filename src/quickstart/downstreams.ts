/**
 * The quick start's clusters: the management control plane (with
 * kube-controller-manager: its token controller mints the agents' tokens,
 * its namespace controller deletes namespaces) in the quick-start directory,
 * and one downstream control plane per sample Cluster (API server and etcd
 * only: no nodes, no controller manager) in `downstream-<cluster>/`. All
 * start in parallel once the binaries are there; if one fails, the others
 * are stopped before the error is rethrown.
 */
import { join } from 'node:path';
import { ensureControlPlaneBinaries } from '../controlplane/binaries.ts';
import { startControlPlane, type ControlPlane } from '../controlplane/harness.ts';

export interface QuickstartClusters {
  management: ControlPlane;
  /** By Cluster name, in the order asked for. */
  downstreams: Map<string, ControlPlane>;
  /** Stops every control plane, in parallel. */
  stop(): Promise<void>;
}

export function downstreamDir(dir: string, cluster: string): string {
  return join(dir, `downstream-${cluster}`);
}

export async function startClusters(dir: string, clusters: readonly string[], log: (line: string) => void): Promise<QuickstartClusters> {
  // Built (or found) once, so three starts do not queue on the build lock with three progress reports.
  await ensureControlPlaneBinaries({ log: (line) => log(`[controlplane] ${line}`) });
  const started = await Promise.allSettled([
    startControlPlane({ dir, ownSession: true, log: (line) => log(`[management] ${line}`) }),
    ...clusters.map((name) =>
      startControlPlane({ dir: downstreamDir(dir, name), controllerManager: false, ownSession: true, log: (line) => log(`[${name}] ${line}`) }),
    ),
  ]);
  const running = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const stop = async () => {
    await Promise.allSettled(running.map((cp) => cp.stop()));
  };
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }
  const [management, ...rest] = running as [ControlPlane, ...ControlPlane[]];
  return { management, downstreams: new Map(clusters.map((name, i) => [name, rest[i]!])), stop };
}
