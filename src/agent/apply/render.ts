/**
 * From a BundleDeployment's manifests to the objects to apply: parse each
 * manifest (YAML, possibly several documents, or JSON; `kind: List`
 * flattened), check each object names itself, place it (namespace defaulting
 * for namespaced kinds, no namespace on cluster-scoped ones) and label it as
 * a member of the ApplySet. A manifest that cannot be used becomes a problem
 * naming it; it never stops the others.
 */
import { parseAllDocuments } from 'yaml';
import type { BundleResource } from '../../api/bundle-resource.ts';
import type { KubeObject, ResourceType } from '../../runtime/kube/resource.ts';
import { ApplySetKeys, describeRef, identityOf, refOf, type ObjectRef, type ResourceProblem } from './types.ts';

/** One object read from a manifest, not yet placed. */
export interface ParsedObject {
  manifest: string;
  object: KubeObject;
  /** Position among all objects of the input: apply order after Namespaces and CRDs. */
  index: number;
}

export interface ParseResult {
  objects: ParsedObject[];
  problems: ResourceProblem[];
}

/** Parses every manifest; unreadable documents become problems naming their manifest. */
export function parseResources(resources: readonly BundleResource[]): ParseResult {
  const objects: ParsedObject[] = [];
  const problems: ResourceProblem[] = [];
  for (const resource of resources) {
    let docs;
    try {
      docs = parseAllDocuments(resource.content);
    } catch (err) {
      problems.push({ manifest: resource.name, message: `cannot parse: ${(err as Error).message}` });
      continue;
    }
    // parseAllDocuments returns an EmptyStream (not an array) for empty text.
    for (const [index, doc] of (Array.isArray(docs) ? docs : []).entries()) {
      const where = `document ${index + 1}`;
      if (doc.errors.length > 0) {
        problems.push({ manifest: resource.name, message: `${where}: invalid YAML: ${doc.errors[0]?.message ?? 'unknown error'}` });
        continue;
      }
      let value: unknown;
      try {
        value = doc.toJS({ maxAliasCount: 100 });
      } catch (err) {
        problems.push({ manifest: resource.name, message: `${where}: ${(err as Error).message}` });
        continue;
      }
      if (value === null || value === undefined) continue; // an empty document (`---` at the end)
      for (const item of flatten(value)) {
        const problem = checkObject(item);
        if (problem) problems.push({ manifest: resource.name, message: `${where}: ${problem}` });
        else objects.push({ manifest: resource.name, object: item as KubeObject, index: objects.length });
      }
    }
  }
  return { objects, problems };
}

/** `kind: List` (and `…List` with items, as kubectl accepts) becomes its items. */
function flatten(value: unknown): unknown[] {
  if (isRecord(value) && typeof value.kind === 'string' && value.kind.endsWith('List') && Array.isArray(value.items)) {
    return value.items.flatMap(flatten);
  }
  return [value];
}

function checkObject(value: unknown): string | undefined {
  if (!isRecord(value)) return `not a Kubernetes object: ${JSON.stringify(value)?.slice(0, 80)}`;
  const missing: string[] = [];
  if (typeof value.apiVersion !== 'string' || value.apiVersion === '') missing.push('apiVersion');
  if (typeof value.kind !== 'string' || value.kind === '') missing.push('kind');
  const metadata = value.metadata;
  if (!isRecord(metadata) || typeof metadata.name !== 'string' || metadata.name === '') missing.push('metadata.name');
  if (missing.length > 0) return `object without ${missing.join(', ')}`;
  const meta = metadata as Record<string, unknown>;
  if (meta.namespace !== undefined && typeof meta.namespace !== 'string') return 'metadata.namespace must be a string';
  for (const field of ['labels', 'annotations'] as const) {
    if (meta[field] !== undefined && meta[field] !== null && !isRecord(meta[field])) return `metadata.${field} must be a map`;
  }
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** An object ready to apply: placed, labelled, with the resource that serves it. */
export interface RenderedObject {
  manifest: string;
  index: number;
  type: ResourceType;
  object: KubeObject;
  ref: ObjectRef;
  identity: string;
}

/**
 * Places a parsed object: namespaced kinds get `defaultNamespace` when they
 * name none, cluster-scoped kinds lose any namespace (the API would reject
 * it, or worse, a tool would mistake it), and every object gets the part-of
 * label. The input is not modified.
 */
export function placeObject(parsed: ParsedObject, type: ResourceType, defaultNamespace: string, applySetId: string): RenderedObject {
  const source = parsed.object;
  // Server-owned fields, as in a manifest exported from another cluster:
  // a resourceVersion would make every apply a precondition that fails with
  // 409, managedFields are refused by server-side apply outright.
  const {
    namespace: declared,
    resourceVersion: _resourceVersion,
    uid: _uid,
    creationTimestamp: _creationTimestamp,
    generation: _generation,
    managedFields: _managedFields,
    selfLink: _selfLink,
    ...meta
  } = source.metadata;
  const namespace = type.namespaced ? (declared || defaultNamespace) : undefined;
  const object: KubeObject = {
    ...source,
    metadata: {
      ...meta,
      ...(namespace !== undefined ? { namespace } : {}),
      labels: { ...(source.metadata.labels ?? {}), [ApplySetKeys.partOf]: applySetId },
    },
  };
  const ref = refOf(object);
  return {
    manifest: parsed.manifest,
    index: parsed.index,
    type,
    object,
    ref,
    identity: identityOf(type.group, type.kind, namespace, ref.name),
  };
}

export function parsedRef(parsed: ParsedObject): ObjectRef {
  return refOf(parsed.object);
}

/** What an unmapped object's identity most likely is (namespaced, as most custom kinds are). */
export function provisionalIdentity(parsed: ParsedObject, defaultNamespace: string): string {
  const o = parsed.object;
  return identityOf(groupOf(o.apiVersion ?? ''), o.kind ?? '', o.metadata.namespace || defaultNamespace, o.metadata.name ?? '');
}

/**
 * Keeps the first object of each identity; later ones become problems:
 * two manifests fighting over one object would flip it on every apply.
 */
export function rejectDuplicates<T extends { manifest: string; identity: string; ref: ObjectRef }>(
  items: T[],
  problems: ResourceProblem[],
  seen: Map<string, string> = new Map(),
): T[] {
  const kept: T[] = [];
  for (const item of items) {
    const first = seen.get(item.identity);
    if (first !== undefined) {
      problems.push({
        manifest: item.manifest,
        ref: item.ref,
        message: `${describeRef(item.ref)} is also defined in manifest ${first}; an object may be defined only once`,
      });
      continue;
    }
    seen.set(item.identity, item.manifest);
    kept.push(item);
  }
  return kept;
}

/** 0 for Namespaces, 1 for CRDs, 2 for everything else: the apply phases. */
export function applyRank(t: ResourceType): number {
  if (t.group === '' && t.kind === 'Namespace') return 0;
  return t.group === 'apiextensions.k8s.io' && t.kind === 'CustomResourceDefinition' ? 1 : 2;
}

/** Namespaces first, then CRDs, then everything else in manifest order. */
export function applyOrder<T extends { type: ResourceType; index: number }>(items: T[]): T[] {
  return [...items].sort((a, b) => applyRank(a.type) - applyRank(b.type) || a.index - b.index);
}
