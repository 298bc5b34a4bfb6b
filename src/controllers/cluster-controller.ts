import { AGENT_LEASE_NAME, ConditionReason, ConditionType, Finalizer, Kind } from '../api/constants.ts';
import type { ClusterStatus } from '../api/cluster.ts';
import { summarizeClusterDeployments, clusterStatusWithSummary } from '../placement/cluster-summary.ts';
import { setConditions } from '../placement/conditions.ts';
import { deploymentNamespaceFor, deploymentNamespaceLabels } from '../placement/deployment-namespace.ts';
import { displayStatus } from '../placement/display-status.ts';
import { statusEqual } from '../placement/summary.ts';
import { clusterTransitions } from '../placement/transitions.ts';
import type { ReconcileContext, ReconcileResult } from '../runtime/actors/index.ts';
import { ignoreAlreadyExists } from '../runtime/errors.ts';
import { objectKey, splitKey, type KubeObject } from '../runtime/kube/resource.ts';
import type { EnqueueOptions } from '../runtime/actors/index.ts';
import { predicates } from '../runtime/informer/event-handlers.ts';
import type { Store } from '../runtime/informer/store.ts';
import { forObjects, Lane, objectEvents, requests, watch, type ObjectEvent } from '../runtime/watches.ts';
import { owningClusterKey } from '../placement/bundle-deployments.ts';
import type { PlacementController, PlacementSources } from './controller-definition.ts';
import { Index, PlacementContext, type BundleDeploymentObject } from './placement-context.ts';
import type { WorkspaceChange } from './workspace-events.ts';
import { withoutStalled } from './dead-letter.ts';
import { offboardCluster } from './offboarding.ts';
import { reportNamespaceConflict } from './namespace-conflict.ts';
import { agentConnected, agentLeaseWatch, requeueAtExpiry } from './agent-heartbeat.ts';

/**
 * Cluster: owns the Cluster's deployment namespace (created on first sight,
 * deleted behind a finalizer when the Cluster goes) and the Cluster's status
 * (deployment namespace, counts of its BundleDeployments by state, and
 * AgentConnected from its agent's heartbeat Lease, agent-heartbeat.ts).
 */
export class ClusterReconciler {
  readonly #ctx: PlacementContext;
  readonly #now: () => number;

  /** `now`: wall-clock milliseconds, for the agent heartbeat's expiry (a test's manual clock). */
  constructor(ctx: PlacementContext, now: () => number = Date.now) {
    this.#ctx = ctx;
    this.#now = now;
  }

  async reconcile(rc: ReconcileContext): Promise<ReconcileResult | void> {
    const ctx = this.#ctx;
    const cluster = ctx.writer.fresher(Kind.Cluster, rc.key, ctx.clusters.store.get(rc.key));
    if (!cluster) return;
    if (!ctx.isWorkspace(cluster.metadata.namespace)) return offboardCluster(ctx, cluster, rc.signal);
    const workspace = cluster.metadata.namespace ?? '';
    const deploymentNs = deploymentNamespaceFor(workspace, cluster.metadata.name);
    const nsObj = ctx.writer.fresher('Namespace', deploymentNs, ctx.namespaces.store.get(deploymentNs));
    const finalizers = cluster.metadata.finalizers ?? [];

    if (cluster.metadata.deletionTimestamp) {
      if (!finalizers.includes(Finalizer.ClusterCleanup)) return;
      if (nsObj) {
        // Deleting the namespace removes every BundleDeployment in it; the
        // namespace's own deletion event brings us back here to finish.
        if (!nsObj.metadata.deletionTimestamp) await ctx.writer.delete('Namespace', nsObj, 'ClusterDeleted', rc.signal);
        return;
      }
      await ctx.writer.setFinalizers(Kind.Cluster, cluster, finalizers.filter((f) => f !== Finalizer.ClusterCleanup), 'CleanupDone', rc.signal);
      return;
    }

    if (!finalizers.includes(Finalizer.ClusterCleanup)) {
      await ctx.writer.setFinalizers(Kind.Cluster, cluster, [...finalizers, Finalizer.ClusterCleanup], 'FinalizerAdded', rc.signal);
      return; // the update event brings the next step with a fresh resourceVersion
    }

    let namespaceCondition: { status: 'True' | 'False'; reason: string; message: string } = {
      status: 'True',
      reason: ConditionReason.NamespaceReady,
      message: `deployment namespace ${deploymentNs} is ready`,
    };
    if (!nsObj) {
      await ignoreAlreadyExists(
        ctx.writer.create('Namespace', { metadata: { name: deploymentNs, labels: deploymentNamespaceLabels(workspace, cluster.metadata.name) } }, 'DeploymentNamespace', rc.signal),
      );
      return; // its add event brings us back
    }
    if (nsObj.metadata.deletionTimestamp) {
      namespaceCondition = {
        status: 'False',
        reason: ConditionReason.NamespaceTerminating,
        message: `deployment namespace ${deploymentNs} is being deleted; it is recreated once gone`,
      };
    } else if (!PlacementContext.ownsDeploymentNamespace(rc.key, nsObj)) {
      return reportNamespaceConflict(ctx, cluster, deploymentNs, rc.signal);
    }

    const bds = ctx.bundleDeployments.store.byIndex(Index.bdCluster, rc.key);
    const computed = summarizeClusterDeployments(bds);
    const base = clusterStatusWithSummary(cluster.status, computed, deploymentNs, cluster.metadata.generation);
    const now = this.#now();
    const agent = agentConnected(ctx.agentLeases.store.get(`${deploymentNs}/${AGENT_LEASE_NAME}`), deploymentNs, now);
    const conditions = setConditions(withoutStalled(cluster.status)?.conditions, [
      { type: ConditionType.Ready, ...namespaceCondition, observedGeneration: cluster.metadata.generation },
      agent.condition,
    ], new Date(now));
    const shown = displayStatus({ conditions, worst: computed.display.state, paused: cluster.spec?.paused === true });
    const status: ClusterStatus = {
      ...base,
      conditions,
      display: shown === undefined ? base.display : { ...base.display, status: shown },
    };
    // While the heartbeat holds, look again when it would expire.
    const result = agent.expiresAt === undefined ? undefined : { requeueAfterMs: requeueAtExpiry(agent.expiresAt, now) };
    if (statusEqual(status, cluster.status)) return result;
    const { namespace, name } = splitKey(rc.key);
    const written = await ctx.writer.applyStatus(Kind.Cluster, { metadata: { name, namespace }, status } as KubeObject, 'StatusChanged', rc.signal);
    // Announced from the stored statuses' difference: a no-op reconcile writes, and so announces, nothing.
    if (written) for (const e of clusterTransitions(cluster.status, status)) void ctx.events.recordBestEffort(cluster, e.type, e.reason, e.note);
    return result;
  }
}


/** A Cluster's counts change with every one of its BundleDeployments; a short delay lets a fan-out's events coalesce into one status write a second. */
const CLUSTER_STATUS_COALESCE_MS = 1000;

/** The Cluster controller: its Clusters, their BundleDeployments' states, their deployment namespaces, and workspace changes. */
export function clusterController(ctx: PlacementContext, sources: PlacementSources): PlacementController {
  const reconciler = new ClusterReconciler(ctx);
  const store = ctx.clusters.store;
  const deploymentsChanged = (lane: EnqueueOptions) => ({ ...lane, delayMs: CLUSTER_STATUS_COALESCE_MS });
  return {
    name: 'cluster',
    reconcile: (rc) => reconciler.reconcile(rc),
    reportsOn: { kind: Kind.Cluster, store: store as unknown as Store<KubeObject> },
    watches: [
      forObjects(
        ctx.clusters,
        (old, c) =>
          predicates.labelsChanged(old, c) ||
          predicates.deletionStarted(old, c) ||
          predicates.generationChanged(old, c) ||
          predicates.finalizersChanged(old, c) ||
          ctx.writer.isForeignStatusChange(Kind.Cluster, old, c),
      ),
      watch(objectEvents(ctx.bundleDeployments), (e: ObjectEvent<BundleDeploymentObject>) => {
        const key = owningClusterKey(e.obj);
        if (e.type === 'added') {
          // At start-up the Cluster is listed itself.
          if (e.initialList) return undefined;
          const own = ctx.writer.isOwnWrite(Kind.BundleDeployment, objectKey(e.obj), e.obj.metadata.resourceVersion);
          return requests(key, deploymentsChanged(own ? Lane.ownEcho : Lane.dependency));
        }
        if (e.type === 'updated' && e.resync) return undefined;
        return requests(key, deploymentsChanged(Lane.dependency));
      }),
      // A namespace with a Cluster's deployment-namespace name appearing or
      // going — its own, or one squatting on the name — changes what the
      // Cluster reports; as a change, it also releases a dead-lettered key.
      watch(objectEvents(ctx.namespaces), (e: ObjectEvent<KubeObject>) => {
        if (e.type === 'added' && e.initialList) return undefined;
        if (e.type === 'updated' && (e.resync || !(predicates.deletionStarted(e.old, e.obj) || predicates.labelsChanged(e.old, e.obj)))) return undefined;
        return requests(store.indexKeys(Index.clusterDeploymentNamespace, e.obj.metadata.name ?? ''), Lane.change);
      }),
      watch(sources.workspaceChanges, ({ workspace }: WorkspaceChange) => requests(store.indexKeys(Index.namespace, workspace), Lane.dependency)),
      // Agent heartbeats: to this Cluster's key only, and only when AgentConnected would change.
      agentLeaseWatch(ctx.agentLeases, (namespace) => store.indexKeys(Index.clusterDeploymentNamespace, namespace)),
    ],
  };
}
