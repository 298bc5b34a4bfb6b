/**
 * Names shared by the API schemas, the controller and the tests. Everything a
 * reader of the cluster sees (group, kinds, label keys, finalizers, condition
 * types and reasons) is spelled once here so that a typo is a type error,
 * not a silent mismatch between two components.
 */

export const GROUP = 'flotilla.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}` as const;

export const Kind = {
  Cluster: 'Cluster',
  ClusterGroup: 'ClusterGroup',
  Bundle: 'Bundle',
  BundleDeployment: 'BundleDeployment',
  Content: 'Content',
} as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

/** Resource (plural) names, as used in API paths and RBAC rules. */
export const Plural = {
  Cluster: 'clusters',
  ClusterGroup: 'clustergroups',
  Bundle: 'bundles',
  BundleDeployment: 'bundledeployments',
  Content: 'contents',
} as const satisfies Record<Kind, string>;
export type Plural = (typeof Plural)[Kind];

/** Every Flotilla kind shows up under `kubectl get flotilla`. */
export const CATEGORY = 'flotilla';

/**
 * Label keys. BundleDeployments carry the Bundle's and the Cluster's name and
 * namespace as labels so they can be listed by either side with a label
 * selector; that is why Bundle and Cluster names are limited to 63 characters.
 */
export const Label = {
  BundleName: `${GROUP}/bundle-name`,
  BundleNamespace: `${GROUP}/bundle-namespace`,
  ClusterName: `${GROUP}/cluster-name`,
  ClusterNamespace: `${GROUP}/cluster-namespace`,
  /** Marks a namespace as a workspace (default workspace selector: `=true`). */
  Workspace: `${GROUP}/workspace`,
  /** Standard label on objects the controller creates (deployment namespaces). */
  ManagedBy: 'app.kubernetes.io/managed-by',
} as const;
export type Label = (typeof Label)[keyof typeof Label];

/**
 * The agent's heartbeat: a coordination.k8s.io/v1 Lease of this name in its
 * Cluster's deployment namespace, renewed every 10 s with
 * leaseDurationSeconds 40 (the node-lease convention). The controller turns
 * it into the Cluster's `AgentConnected` condition.
 */
export const AGENT_LEASE_NAME = 'flotilla-agent';

/** Value of `Label.Workspace` that the default workspace selector matches. */
export const WORKSPACE_LABEL_VALUE = 'true';
/** Value of `Label.ManagedBy` on objects Flotilla creates. */
export const MANAGED_BY_VALUE = 'flotilla';

/**
 * Finalizers. Each one guards a cleanup the controller must finish before the
 * object may disappear (docs/architecture.md#finalizers).
 */
export const Finalizer = {
  /** On a Cluster: delete its deployment namespace and BundleDeployments first. */
  ClusterCleanup: `${GROUP}/cluster-cleanup`,
  /** On a Bundle: delete its BundleDeployments and release its Content first. */
  BundleCleanup: `${GROUP}/bundle-cleanup`,
  /** On a Content: kept while any Bundle or BundleDeployment still references it. */
  ContentInUse: `${GROUP}/content-in-use`,
} as const;
export type Finalizer = (typeof Finalizer)[keyof typeof Finalizer];

export const ConditionStatus = {
  True: 'True',
  False: 'False',
  Unknown: 'Unknown',
} as const;
export type ConditionStatus = (typeof ConditionStatus)[keyof typeof ConditionStatus];

export const ConditionType = {
  /** Bundle, Cluster, ClusterGroup, BundleDeployment: everything converged and healthy. */
  Ready: 'Ready',
  /** Bundle: its targets were evaluated against the workspace's Clusters. */
  Targeted: 'Targeted',
  /** BundleDeployment: the agent applied `spec.deploymentID` (written by the agent). */
  Applied: 'Applied',
  /**
   * Any kind: reconciling hit an error no retry can fix (the key is
   * dead-lettered until the object changes). kstatus' name for it.
   */
  Stalled: 'Stalled',
  /** Cluster: its agent renews its heartbeat Lease (`flotilla-agent` in the deployment namespace). */
  AgentConnected: 'AgentConnected',
  /** Bundle: existing BundleDeployments are updated to the current deployment ID (False while `maxUnavailable` holds some back). */
  Rollout: 'Rollout',
} as const;
export type ConditionType = (typeof ConditionType)[keyof typeof ConditionType];

/** CamelCase machine reasons for conditions (metav1.Condition `reason`). */
export const ConditionReason = {
  // Ready
  Ready: 'Ready',
  NotReady: 'NotReady',
  Pending: 'Pending',
  Modified: 'Modified',
  ErrApplied: 'ErrApplied',
  WaitApplied: 'WaitApplied',
  OutOfSync: 'OutOfSync',
  Paused: 'Paused',
  // Targeted
  TargetsMatched: 'TargetsMatched',
  NoTargets: 'NoTargets',
  NoMatchingClusters: 'NoMatchingClusters',
  InvalidTargets: 'InvalidTargets',
  // Content problems (Bundle)
  ContentTooLarge: 'ContentTooLarge',
  InvalidContent: 'InvalidContent',
  // Cluster
  NamespaceReady: 'NamespaceReady',
  NamespaceTerminating: 'NamespaceTerminating',
  /** A namespace with the deployment namespace's name exists and belongs to someone else. */
  NamespaceConflict: 'NamespaceConflict',
  // AgentConnected (Cluster)
  /** The agent's Lease is renewed: renewTime + leaseDurationSeconds is in the future. */
  Heartbeat: 'Heartbeat',
  /** The agent's Lease was not renewed within its leaseDurationSeconds. */
  HeartbeatExpired: 'HeartbeatExpired',
  /** No agent Lease in the deployment namespace (no agent ever connected, or it was removed). */
  NoAgent: 'NoAgent',
  // Rollout (Bundle)
  /** Every targeted BundleDeployment carries the current deployment ID. */
  RolledOut: 'RolledOut',
  /** Updates are held: as many targeted clusters as `maxUnavailable` allows are unavailable. */
  MaxUnavailable: 'MaxUnavailable',
  // ClusterGroup
  NoClusters: 'NoClusters',
  // Applied (agent)
  Applied: 'Applied',
  ApplyFailed: 'ApplyFailed',
  // Stalled / generic failures
  TerminalError: 'TerminalError',
  ReconcileError: 'ReconcileError',
} as const;
export type ConditionReason = (typeof ConditionReason)[keyof typeof ConditionReason];

/**
 * State of one BundleDeployment, and the worst state shown for a Bundle or
 * Cluster (`status.display.state`). Fleet's states, kept for familiarity.
 * Listed from best to worst: a summary shows the worst state present.
 */
export const DeploymentState = {
  Ready: 'Ready',
  NotReady: 'NotReady',
  Pending: 'Pending',
  WaitApplied: 'WaitApplied',
  OutOfSync: 'OutOfSync',
  Modified: 'Modified',
  ErrApplied: 'ErrApplied',
} as const;
export type DeploymentState = (typeof DeploymentState)[keyof typeof DeploymentState];

/** Which summary counter (see `DeploymentCounts`) counts each state. */
export const SummaryCountField = {
  Ready: 'ready',
  NotReady: 'notReady',
  Pending: 'pending',
  WaitApplied: 'waitApplied',
  OutOfSync: 'outOfSync',
  Modified: 'modified',
  ErrApplied: 'errApplied',
} as const satisfies Record<DeploymentState, string>;

/**
 * Size limits. etcd rejects requests over ~1.5 MiB (`--max-request-bytes`
 * default 1,572,864), so a Bundle's (and its Content's) manifests must stay
 * well below that, leaving headroom for metadata and managedFields. The two
 * manifest limits hold in UTF-8 bytes, whatever the characters: the
 * admission policy installed with the CRDs measures bytes
 * (`resource-size-policy.ts`; a CRD's own CEL cannot afford to), the CRD
 * schema applies the same figures to characters (never stricter: a
 * character is at least one byte), and the controller checks the size as
 * stored, JSON escaping included (`placement/bundle-validation.ts`).
 */
export const Limits = {
  /** Largest single manifest text: UTF-8 bytes (admission, controller); characters in the CRD's maxLength. */
  resourceContentMaxLength: 1024 * 1024,
  /** Most manifests in one Bundle/Content. */
  resourcesMaxItems: 512,
  /**
   * Budget for all manifests of one Bundle/Content together: UTF-8 bytes of
   * their texts at admission, bytes as stored (JSON) in the controller,
   * characters in the CRD's CEL rule.
   */
  resourcesMaxTotalSize: 1280 * 1024,
  targetsMaxItems: 100,
  /** Cluster names listed in `status.summary.nonReadyClusters`. */
  nonReadyClustersMaxItems: 10,
  /** Resources listed in a BundleDeployment's nonReady/modified lists. */
  resourceStatusMaxItems: 10,
  conditionsMaxItems: 32,
  matchLabelsMaxProperties: 64,
  matchExpressionsMaxItems: 32,
  selectorValuesMaxItems: 64,
} as const;
