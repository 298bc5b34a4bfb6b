import type { Registry } from 'prom-client';
import { Label, MANAGED_BY_VALUE } from '../api/constants.ts';
import { KindResources } from '../api/kinds.ts';
import { contentNameFor } from '../api/content-name.ts';
import type { Bundle } from '../api/bundle.ts';
import type { BundleDeployment } from '../api/bundle-deployment.ts';
import type { Cluster } from '../api/cluster.ts';
import type { ClusterGroup } from '../api/cluster-group.ts';
import type { Content } from '../api/content.ts';
import type { Logger } from '../observability/logger.ts';
import { owningBundleKey, owningClusterKey } from '../placement/bundle-deployments.ts';
import { deploymentNamespaceFor } from '../placement/deployment-namespace.ts';
import { targetDependencies, type TargetDependencies } from '../placement/target-dependencies.ts';
import type { InformerFactory, InformerOptions } from '../runtime/informer/informer-factory.ts';
import type { Store } from '../runtime/informer/store.ts';
import type { EventRecorder } from '../runtime/events.ts';
import { builtinTypes, type KubeObject, type ResourceType } from '../runtime/kube/resource.ts';
import type { Manager } from '../runtime/manager.ts';
import { WorkspaceMembership } from './workspaces.ts';
import { agentLeaseCacheSpec, type LeaseObject } from './agent-heartbeat.ts';
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
  /** Clusters by the name their deployment namespace has (or would have). */
  clusterDeploymentNamespace: 'deployment-namespace',
  /** BundleDeployments by `bundleNamespace/bundleName`. */
  bdBundle: 'bundle',
  /** BundleDeployments by the workspace (namespace) of their Bundle. */
  bdWorkspace: 'workspace',
  /** BundleDeployments by `clusterNamespace/clusterName`. */
  bdCluster: 'cluster',
  /** BundleDeployments by `spec.contentName`. */
  bdContent: 'content',
} as const;

/**
 * A value derived from a Bundle's spec, remembered per (uid, generation):
 * every watch event (status writes included) brings a fresh copy of the
 * object, but spec only changes with metadata.generation. The same spec
 * field (the old object on update) is recognised by identity too.
 */
class SpecMemo<T> {
  static readonly LIMIT = 100_000;
  readonly #byField = new WeakMap<object, T>();
  readonly #byGeneration = new Map<string, T>();

  get(bundle: BundleObject, field: object, compute: () => T): T {
    const generationKey = bundle.metadata.uid ? `${bundle.metadata.uid}/${bundle.metadata.generation ?? 0}` : undefined;
    let value = this.#byField.get(field) ?? (generationKey ? this.#byGeneration.get(generationKey) : undefined);
    if (value === undefined) {
      value = compute();
      if (generationKey) {
        if (this.#byGeneration.size >= SpecMemo.LIMIT) this.#byGeneration.clear();
        this.#byGeneration.set(generationKey, value);
      }
    }
    this.#byField.set(field, value);
    return value;
  }
}

const contentNames = new SpecMemo<string | null>();
const dependencies = new SpecMemo<TargetDependencies>();
const NO_TARGETS: readonly unknown[] = [];
const NO_RESOURCES: readonly never[] = [];

/**
 * The Content name a Bundle's resources hash to; hashing is the costliest
 * index function, so it is memoised. Absent (or null) resources are the
 * empty list, as the validation treats them: the Bundle deploys the Content
 * of no resources instead of waiting for one that never comes. Anything
 * else that is not a list has no Content (validation reports it).
 */
export function desiredContentName(bundle: BundleObject): string | undefined {
  const resources = bundle.spec?.resources ?? NO_RESOURCES;
  if (!Array.isArray(resources)) return undefined;
  const name = contentNames.get(bundle, resources, () => {
    try {
      return contentNameFor(resources);
    } catch {
      return null;
    }
  });
  return name ?? undefined;
}

/**
 * What a Bundle's targeting reads (`placement/target-dependencies.ts`): the
 * one source for the fan-out's indexes and selector registrations, so a new
 * target criterion reaches the fan-out by reaching `targetDependencies`.
 */
export function bundleDependencies(bundle: BundleObject): TargetDependencies {
  const targets = bundle.spec?.targets;
  return dependencies.get(bundle, Array.isArray(targets) ? targets : NO_TARGETS, () =>
    targetDependencies({ metadata: bundle.metadata, spec: { targets: bundle.spec?.targets ?? null } }),
  );
}

const one = (key: string | undefined): string[] => (key === undefined ? [] : [key]);
const inWorkspace = (bundle: BundleObject, names: readonly string[]): string[] => names.map((n) => `${bundle.metadata.namespace}/${n}`);

/** How each cache the placement controllers read is indexed; informers and in-memory stores alike. */
export const placementCacheSpecs = {
  namespaces: { type: builtinTypes.namespace, builtinIndexes: ['label'] },
  clusters: {
    type: KindResources.Cluster,
    builtinIndexes: ['namespace'],
    indexers: {
      [Index.clusterDeploymentNamespace]: (c: ClusterObject) => [deploymentNamespaceFor(c.metadata.namespace ?? '', c.metadata.name)],
    },
  },
  clusterGroups: { type: KindResources.ClusterGroup, builtinIndexes: ['namespace'] },
  bundles: {
    type: KindResources.Bundle,
    builtinIndexes: ['namespace'],
    indexers: {
      [Index.bundleContent]: (b: BundleObject) => one(desiredContentName(b)),
      [Index.bundleGroupRef]: (b: BundleObject) => inWorkspace(b, bundleDependencies(b).clusterGroupNames),
      [Index.bundleGroupSelector]: (b: BundleObject) => (bundleDependencies(b).clusterGroupSelectors.length > 0 ? [b.metadata.namespace ?? ''] : []),
      [Index.bundleClusterRef]: (b: BundleObject) => inWorkspace(b, bundleDependencies(b).clusterNames),
    },
  },
  bundleDeployments: {
    type: KindResources.BundleDeployment,
    builtinIndexes: [],
    indexers: {
      [Index.bdBundle]: (bd: BundleDeploymentObject) => one(owningBundleKey(bd)),
      [Index.bdCluster]: (bd: BundleDeploymentObject) => one(owningClusterKey(bd)),
      [Index.bdWorkspace]: (bd: BundleDeploymentObject) => one(bd.metadata.labels?.[Label.BundleNamespace]),
      [Index.bdContent]: (bd: BundleDeploymentObject) => one(bd.spec?.contentName),
    },
  },
  contents: { type: KindResources.Content, builtinIndexes: [] },
  /** The agents' heartbeat Leases (`agent-heartbeat.ts`), one informer for every deployment namespace. */
  agentLeases: agentLeaseCacheSpec,
} as const satisfies Record<string, InformerOptions<never> & { type: ResourceType }>;

/** A cache of one kind: an informer, or a plain store in unit tests. */
export interface Cache<T extends KubeObject> {
  readonly store: Store<T>;
}

export interface PlacementCaches {
  readonly namespaces: Cache<KubeObject>;
  readonly clusters: Cache<ClusterObject>;
  readonly clusterGroups: Cache<ClusterGroupObject>;
  readonly bundles: Cache<BundleObject>;
  readonly bundleDeployments: Cache<BundleDeploymentObject>;
  readonly contents: Cache<ContentObject>;
  readonly agentLeases: Cache<LeaseObject>;
}

/** The informers behind the placement caches, with their indexes. */
export function placementInformers(informers: InformerFactory): PlacementCaches {
  const s = placementCacheSpecs;
  return {
    namespaces: informers.for(s.namespaces.type, s.namespaces),
    clusters: informers.for<ClusterObject>(s.clusters.type, s.clusters),
    clusterGroups: informers.for<ClusterGroupObject>(s.clusterGroups.type, s.clusterGroups),
    bundles: informers.for<BundleObject>(s.bundles.type, s.bundles),
    bundleDeployments: informers.for<BundleDeploymentObject>(s.bundleDeployments.type, s.bundleDeployments),
    contents: informers.for<ContentObject>(s.contents.type, s.contents),
    agentLeases: informers.for<LeaseObject>(s.agentLeases.type, s.agentLeases),
  };
}

/** What the placement controllers are made of; each part can be given directly (unit tests) or taken from a Manager. */
export interface PlacementParts {
  readonly caches: PlacementCaches;
  readonly writer: Writer;
  readonly events: Pick<EventRecorder, 'record' | 'recordBestEffort'>;
  readonly workspaces: WorkspaceMembership;
  readonly registry: Registry;
  readonly log: Logger;
}

/**
 * Everything the placement controllers share: the caches (with the indexes
 * the reconciles and the fan-out need), workspace membership, the counted
 * writer, and the Event recorder.
 */
export class PlacementContext implements PlacementCaches {
  readonly namespaces: Cache<KubeObject>;
  readonly clusters: Cache<ClusterObject>;
  readonly clusterGroups: Cache<ClusterGroupObject>;
  readonly bundles: Cache<BundleObject>;
  readonly bundleDeployments: Cache<BundleDeploymentObject>;
  readonly contents: Cache<ContentObject>;
  readonly agentLeases: Cache<LeaseObject>;
  readonly workspaces: WorkspaceMembership;
  readonly writer: Writer;
  readonly events: Pick<EventRecorder, 'record' | 'recordBestEffort'>;
  readonly registry: Registry;
  readonly log: Logger;

  constructor(parts: PlacementParts) {
    ({
      namespaces: this.namespaces,
      clusters: this.clusters,
      clusterGroups: this.clusterGroups,
      bundles: this.bundles,
      bundleDeployments: this.bundleDeployments,
      contents: this.contents,
      agentLeases: this.agentLeases,
    } = parts.caches);
    this.workspaces = parts.workspaces;
    this.writer = parts.writer;
    this.events = parts.events;
    this.registry = parts.registry;
    this.log = parts.log;
  }

  /** The placement controllers' parts on a Manager's informers, client and registry. */
  static fromManager(manager: Manager): PlacementContext {
    return new PlacementContext({
      caches: placementInformers(manager.informers),
      writer: new Writer(manager.client, manager.registry),
      events: manager.eventRecorder('placement-controller'),
      workspaces: new WorkspaceMembership(manager.config.workspaces, manager.config.leaderElection.namespace),
      registry: manager.registry,
      log: manager.log,
    });
  }

  isWorkspace(namespace: string | undefined): boolean {
    return namespace !== undefined && this.workspaces.isWorkspace(this.namespaces.store.get(namespace));
  }

  /**
   * Whether `ns` is the deployment namespace of the Cluster `clusterKey`:
   * one we made for it, not one that merely has its name. BundleDeployments
   * are written only into a namespace this holds for (a namespace created
   * beforehand by someone else must not receive another tenant's deployments).
   */
  static ownsDeploymentNamespace(clusterKey: string, ns: KubeObject): boolean {
    return PlacementContext.clusterKeyOfDeploymentNamespace(ns) === clusterKey;
  }

  /** The Cluster a deployment namespace belongs to, if it is one of ours. */
  static clusterKeyOfDeploymentNamespace(ns: KubeObject): string | undefined {
    const l = ns.metadata.labels;
    if (!l || l[Label.ManagedBy] !== MANAGED_BY_VALUE || !l[Label.ClusterName] || !l[Label.ClusterNamespace]) return undefined;
    return `${l[Label.ClusterNamespace]}/${l[Label.ClusterName]}`;
  }
}
