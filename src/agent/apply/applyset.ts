/**
 * The ApplySet (KEP-3659) bookkeeping: the set's id, and the parent
 * ConfigMap that records which group-kinds and namespaces its members may be
 * in, so that pruning knows where to look without listing every kind in the
 * cluster. Pure functions; the applier does the writes.
 */
import { createHash } from 'node:crypto';
import type { KubeObject } from '../../runtime/kube/resource.ts';
import { ApplySetKeys } from './types.ts';

export const PARENT_KIND = 'ConfigMap';
export const PARENT_GROUP = '';

export function parentName(bundleDeploymentName: string): string {
  return `bd-${bundleDeploymentName}`;
}

/**
 * `applyset-<base64url-nopad(sha256("<name>.<namespace>.<Kind>.<group>"))>-v1`,
 * the KEP's v1 id format: derived from the parent's identity, so any tool
 * can recompute it and two parents never share it.
 */
export function computeApplySetId(name: string, namespace: string, kind = PARENT_KIND, group = PARENT_GROUP): string {
  const digest = createHash('sha256').update(`${name}.${namespace}.${kind}.${group}`).digest('base64url');
  return `applyset-${digest}-v1`;
}

export interface GroupKind {
  group: string;
  kind: string;
}

/** `Kind.group`, or just `Kind` for the core group (the annotation's format). */
export function formatGroupKind(gk: GroupKind): string {
  return gk.group === '' ? gk.kind : `${gk.kind}.${gk.group}`;
}

/** Inverse of formatGroupKind: kinds have no dots, groups may have several. */
export function parseGroupKind(text: string): GroupKind {
  const dot = text.indexOf('.');
  return dot < 0 ? { kind: text, group: '' } : { kind: text.slice(0, dot), group: text.slice(dot + 1) };
}

/** What a parent records: sorted, de-duplicated group-kinds and namespaces, and the deploymentID applied. */
export interface ParentContent {
  groupKinds: string[];
  /** Member namespaces other than the parent's own. */
  namespaces: string[];
  deploymentID: string | undefined;
}

export function emptyContent(): ParentContent {
  return { groupKinds: [], namespaces: [], deploymentID: undefined };
}

function sortedSet(values: Iterable<string>): string[] {
  return [...new Set(values)].filter((v) => v !== '').sort();
}

export function contentOf(groupKinds: Iterable<string>, namespaces: Iterable<string>, parentNamespace: string, deploymentID: string | undefined): ParentContent {
  return {
    groupKinds: sortedSet(groupKinds),
    namespaces: sortedSet([...namespaces].filter((ns) => ns !== parentNamespace)),
    deploymentID,
  };
}

export function unionContent(a: ParentContent, b: ParentContent, deploymentID: string | undefined): ParentContent {
  return {
    groupKinds: sortedSet([...a.groupKinds, ...b.groupKinds]),
    namespaces: sortedSet([...a.namespaces, ...b.namespaces]),
    deploymentID,
  };
}

function splitList(value: string | undefined): string[] {
  return value === undefined ? [] : sortedSet(value.split(',').map((s) => s.trim()));
}

/** Reads a live parent back; a missing parent records nothing. */
export function readParent(parent: KubeObject | undefined): ParentContent {
  if (!parent) return emptyContent();
  const annotations = parent.metadata.annotations ?? {};
  return {
    groupKinds: splitList(annotations[ApplySetKeys.containsGroupKinds]),
    namespaces: splitList(annotations[ApplySetKeys.additionalNamespaces]),
    deploymentID: annotations[ApplySetKeys.deploymentID],
  };
}

export interface ParentIdentity {
  bundleDeployment: string;
  namespace: string;
  applySetId: string;
  tooling: string;
  /** The BundleDeployment's keepResources, recorded for a removal after it is gone. */
  keepResources: boolean;
}

/** The parent ConfigMap as server-side applied: only the keys we own, so anything we leave out is removed. */
export function buildParent(identity: ParentIdentity, content: ParentContent): KubeObject {
  const annotations: Record<string, string> = {
    [ApplySetKeys.tooling]: identity.tooling,
    [ApplySetKeys.containsGroupKinds]: content.groupKinds.join(','),
  };
  if (content.namespaces.length > 0) annotations[ApplySetKeys.additionalNamespaces] = content.namespaces.join(',');
  if (content.deploymentID !== undefined) annotations[ApplySetKeys.deploymentID] = content.deploymentID;
  if (identity.keepResources) annotations[ApplySetKeys.keepResources] = 'true';
  return {
    apiVersion: 'v1',
    kind: PARENT_KIND,
    metadata: {
      name: parentName(identity.bundleDeployment),
      namespace: identity.namespace,
      labels: {
        [ApplySetKeys.id]: identity.applySetId,
        [ApplySetKeys.bundleDeployment]: identity.bundleDeployment,
      },
      annotations,
    },
  };
}

/**
 * Whether the live parent already says exactly what `desired` would: the
 * agent re-applies often, and an unchanged apply must not write the parent.
 */
export function parentUpToDate(live: KubeObject | undefined, desired: KubeObject): boolean {
  if (!live) return false;
  const same = (want: Record<string, string> | undefined, have: Record<string, string> | undefined, keys: string[]) =>
    keys.every((k) => (want?.[k] ?? undefined) === (have?.[k] ?? undefined));
  const annotationKeys = [
    ApplySetKeys.tooling,
    ApplySetKeys.containsGroupKinds,
    ApplySetKeys.additionalNamespaces,
    ApplySetKeys.deploymentID,
    ApplySetKeys.keepResources,
  ];
  const labelKeys = [ApplySetKeys.id, ApplySetKeys.bundleDeployment];
  return (
    same(desired.metadata.annotations, live.metadata.annotations, annotationKeys) &&
    same(desired.metadata.labels, live.metadata.labels, labelKeys)
  );
}

export function sameContent(a: ParentContent, b: ParentContent): boolean {
  return a.groupKinds.join(',') === b.groupKinds.join(',') && a.namespaces.join(',') === b.namespaces.join(',');
}
