import { Label, MANAGED_BY_VALUE } from '../api/constants.ts';
import { KindResources } from '../api/kinds.ts';
import { contentNameFor } from '../api/content-name.ts';
import type { Bundle } from '../api/bundle.ts';
import type { BundleDeployment } from '../api/bundle-deployment.ts';
import type { Cluster } from '../api/cluster.ts';
import type { ClusterGroup } from '../api/cluster-group.ts';
import type { Content } from '../api/content.ts';
import type { Informer } from '../runtime/informer/informer-factory.ts';
import type { EventRecorder } from '../runtime/events.ts';
import { builtinTypes, type KubeObject } from '../runtime/kube/resource.ts';
import type { Manager } from '../runtime/manager.ts';
import { WorkspaceMembership } from './workspaces.ts';
import { Writer } from './writer.ts';

export type BundleObject = Bundle & KubeObject;
export type ClusterObject = Cluster & KubeObject;
export type ClusterGroupObject = ClusterGroup & KubeObject;
export type BundleDeploymentObject = BundleDeployment & KubeObject;
export type ContentObject = Content & KubeObject;

/** Secondary index names, spelled once. */
export const Index = {
  namespace: 'namespace',
  /** Bundles by the Content name their current resources hash to. */
  bundleContent: 'content',
  /** Bundles by `namespace/group` for each `clusterGroup` a target names. */
  bundleGroupRef: 'group-ref',
  /** Bundles by namespace when some target uses `clusterGroupSelector`. */
  bundleGroupSelector: 'group-selector',
  /** Bundles by `namespace/cluster` for each `clusterName` a target names. */
  bundleClusterRef: 'cluster-ref',
  /** BundleDeployments by `bundleNamespace/bundleName`. */
  bdBundle: 'bundle',
  /** BundleDeployments by `clusterNamespace/clusterName`. */
  bdCluster: 'cluster',
  /** BundleDeployments by `spec.contentName`. */
  bdContent: 'content',
} as const;

// Hashing a Bundle's resources is the costliest index function, and every
// watch event (status writes included) brings a fresh copy of the object.
// spec only changes with metadata.generation, so the name is remembered per
// (uid, generation); the same resources array (old object on update) is
// recognised too.
const contentNameByArray = new WeakMap<object, string>();
const contentNameByGeneration = new Map<string, string>();
const GENERATION_MEMO_LIMIT = 100_000;

export function desiredContentName(bundle: BundleObject): string | undefined {
  const resources = bundle.spec?.resources;
  if (!Array.isArray(resources)) return undefined;
  const generationKey = bundle.metadata.uid ? `${bundle.metadata.uid}/${bundle.metadata.generation ?? 0}` : undefined;
  let name = contentNameByArray.get(resources) ?? (generationKey ? contentNameByGeneration.get(generationKey) : undefined);
  if (name === undefined) {
    try {
      name = contentNameFor(resources);
    } catch {
      return undefined;
    }
    if (generationKey) {
      if (contentNameByGeneration.size >= GENERATION_MEMO_LIMIT) contentNameByGeneration.clear();
      contentNameByGeneration.set(generationKey, name);
    }
  }
  contentNameByArray.set(resources, name);
  return name;
}

function targetsOf(bundle: BundleObject): readonly Record<string, unknown>[] {
  const targets = bundle.spec?.targets;
  return Array.isArray(targets) ? (targets as Record<string, unknown>[]) : [];
}

/**
 * Everything the placement controllers share: the informers (cluster-wide
 * list+watch caches with the indexes the reconciles and the fan-out need),
 * workspace membership, the counted writer, and the Event recorder.
 */
export class PlacementContext {
  readonly manager: Manager;
  readonly namespaces: Informer<KubeObject>;
  readonly clusters: Informer<ClusterObject>;
  readonly clusterGroups: Informer<ClusterGroupObject>;
  readonly bundles: Informer<BundleObject>;
  readonly bundleDeployments: Informer<BundleDeploymentObject>;
  readonly contents: Informer<ContentObject>;
  readonly workspaces: WorkspaceMembership;
  readonly writer: Writer;
  readonly events: EventRecorder;

  constructor(manager: Manager) {
    this.manager = manager;
    const informers = manager.informers;
    this.namespaces = informers.for(builtinTypes.namespace, { builtinIndexes: ['label'] });
    this.clusters = informers.for<ClusterObject>(KindResources.Cluster, { builtinIndexes: ['namespace'] });
    this.clusterGroups = informers.for<ClusterGroupObject>(KindResources.ClusterGroup, { builtinIndexes: ['namespace'] });
    this.bundles = informers.for<BundleObject>(KindResources.Bundle, {
      builtinIndexes: ['namespace'],
      indexers: {
        [Index.bundleContent]: (b) => {
          const name = desiredContentName(b);
          return name ? [name] : [];
        },
        [Index.bundleGroupRef]: (b) =>
          targetsOf(b).flatMap((t) => (typeof t.clusterGroup === 'string' ? [`${b.metadata.namespace}/${t.clusterGroup}`] : [])),
        [Index.bundleGroupSelector]: (b) =>
          targetsOf(b).some((t) => t.clusterGroupSelector != null) ? [b.metadata.namespace ?? ''] : [],
        [Index.bundleClusterRef]: (b) =>
          targetsOf(b).flatMap((t) => (typeof t.clusterName === 'string' ? [`${b.metadata.namespace}/${t.clusterName}`] : [])),
      },
    });
    this.bundleDeployments = informers.for<BundleDeploymentObject>(KindResources.BundleDeployment, {
      builtinIndexes: [],
      indexers: {
        [Index.bdBundle]: (bd) => {
          const l = bd.metadata.labels;
          return l?.[Label.BundleName] ? [`${l[Label.BundleNamespace]}/${l[Label.BundleName]}`] : [];
        },
        [Index.bdCluster]: (bd) => {
          const l = bd.metadata.labels;
          return l?.[Label.ClusterName] ? [`${l[Label.ClusterNamespace]}/${l[Label.ClusterName]}`] : [];
        },
        [Index.bdContent]: (bd) => (bd.spec?.contentName ? [bd.spec.contentName] : []),
      },
    });
    this.contents = informers.for<ContentObject>(KindResources.Content, { builtinIndexes: [] });
    this.workspaces = new WorkspaceMembership(manager.config.workspaces, manager.config.leaderElection.namespace);
    this.writer = new Writer(manager.client, manager.registry);
    this.events = manager.eventRecorder('placement-controller');
  }

  isWorkspace(namespace: string | undefined): boolean {
    return namespace !== undefined && this.workspaces.isWorkspace(this.namespaces.store.get(namespace));
  }

  /** The Cluster a deployment namespace belongs to, if it is one of ours. */
  static clusterKeyOfDeploymentNamespace(ns: KubeObject): string | undefined {
    const l = ns.metadata.labels;
    if (!l || l[Label.ManagedBy] !== MANAGED_BY_VALUE || !l[Label.ClusterName] || !l[Label.ClusterNamespace]) return undefined;
    return `${l[Label.ClusterNamespace]}/${l[Label.ClusterName]}`;
  }
}
