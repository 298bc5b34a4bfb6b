/**
 * The shapes the agent's apply engine speaks: what the agent hands in (one
 * BundleDeployment's manifests and options) and what it gets back (what the
 * API server stored, what it refused, what was pruned).
 */
import type { BundleResource } from '../../api/bundle-resource.ts';
import type { DeploymentOptions } from '../../api/deployment-options.ts';
import type { KubeObject, ResourceType } from '../../runtime/kube/resource.ts';

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}

/** One manifest (or one object in it) that could not be applied; the others still were. */
export interface ResourceProblem {
  /** BundleResource.name of the manifest the object came from. */
  manifest: string;
  /** Absent when the document could not even be read as an object. */
  ref?: ObjectRef;
  /** The API server's own message when it rejected the object, else ours. */
  message: string;
}

export interface ApplyInput {
  /** BundleDeployment name (DNS label, unique per agent). */
  name: string;
  deploymentID: string;
  /** Content.spec.resources: named YAML/JSON texts, possibly multi-document. */
  resources: BundleResource[];
  /** defaultNamespace, serviceAccount, keepResources (correctDrift is not this engine's business). */
  options?: DeploymentOptions | undefined;
}

export interface AppliedResource {
  ref: ObjectRef;
  type: ResourceType;
  /** What we sent (after defaulting the namespace and adding the part-of label). */
  desired: KubeObject;
  /** What server-side apply returned. */
  live: KubeObject;
}

export interface ApplyOutcome {
  applySetId: string;
  /** What SSA returned, in apply order. */
  applied: AppliedResource[];
  /** Resources that could not be applied; the others still were. */
  problems: ResourceProblem[];
  pruned: ObjectRef[];
  /** Some problem may go away by itself (unknown kind: a CRD may appear; conflict): retry with backoff. */
  retryable: boolean;
}

/** ApplySet (KEP-3659) label and annotation keys, and ours on the parent. */
export const ApplySetKeys = {
  id: 'applyset.kubernetes.io/id',
  partOf: 'applyset.kubernetes.io/part-of',
  tooling: 'applyset.kubernetes.io/tooling',
  containsGroupKinds: 'applyset.kubernetes.io/contains-group-kinds',
  additionalNamespaces: 'applyset.kubernetes.io/additional-namespaces',
  bundleDeployment: 'flotilla.dev/bundle-deployment',
  deploymentID: 'flotilla.dev/deployment-id',
  /** Present ("true") when the BundleDeployment asks to keep its resources: read when it was deleted while no agent ran. */
  keepResources: 'flotilla.dev/keep-resources',
} as const;

export const DEFAULT_FIELD_MANAGER = 'flotilla-agent';

export function refOf(obj: KubeObject): ObjectRef {
  const ref: ObjectRef = { apiVersion: obj.apiVersion ?? '', kind: obj.kind ?? '', name: obj.metadata.name ?? '' };
  if (obj.metadata.namespace) ref.namespace = obj.metadata.namespace;
  return ref;
}

/** `Kind.group/namespace/name` (namespace part omitted for cluster-scoped objects): object identity across API versions. */
export function identityOf(group: string, kind: string, namespace: string | undefined, name: string): string {
  return `${kind}.${group}/${namespace ?? ''}/${name}`;
}

export function describeRef(ref: ObjectRef): string {
  return `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
}
