/**
 * One copy of the strings many cached objects repeat. JSON.parse gives every
 * object its own copy of each string value longer than 10 characters (V8
 * internalizes only shorter ones): every BundleDeployment of a Bundle carries
 * the same Content name and deployment ID, every object of a namespace the
 * namespace, every object of a type the same apiVersion, kind and finalizer.
 * The reflector replaces those fields by one shared copy before caching.
 *
 * Only fields that repeat by nature are interned (a unique string would cost
 * a table entry and save nothing): apiVersion, kind, metadata.namespace,
 * label values, finalizers, owner references, the top-level string fields
 * of `spec` (references to other objects: names, IDs, hashes), and the type,
 * status and reason of `status.conditions`.
 */

/** Distinct strings kept at most; past it the table starts afresh (objects keep the copies they have). */
const MAX_ENTRIES = 100_000;
/** Longer strings are not references but content; not worth a table entry. */
const MAX_LENGTH = 256;

export class StringInterner {
  readonly #table = new Map<string, string>();
  readonly #maxEntries: number;

  constructor(maxEntries = MAX_ENTRIES) {
    this.#maxEntries = maxEntries;
  }

  get size(): number {
    return this.#table.size;
  }

  intern(s: string): string {
    const shared = this.#table.get(s);
    if (shared !== undefined) return shared;
    if (s.length > MAX_LENGTH) return s;
    if (this.#table.size >= this.#maxEntries) this.#table.clear();
    this.#table.set(s, s);
    return s;
  }
}

/** The process's interner: the informers of all types share namespaces and label values. */
export const sharedInterner = new StringInterner();

interface Internable {
  apiVersion?: unknown;
  kind?: unknown;
  metadata?: {
    namespace?: unknown;
    labels?: Record<string, unknown>;
    finalizers?: unknown;
    ownerReferences?: unknown;
  };
  spec?: unknown;
  status?: { conditions?: unknown };
}

/** Replaces the repeated string fields of `obj` by shared copies, in place. */
export function internRepeatedStrings<T extends object>(obj: T, interner: StringInterner = sharedInterner): T {
  const o = obj as Internable;
  const str = (v: unknown): unknown => (typeof v === 'string' ? interner.intern(v) : v);
  if (typeof o.apiVersion === 'string') o.apiVersion = interner.intern(o.apiVersion);
  if (typeof o.kind === 'string') o.kind = interner.intern(o.kind);
  const m = o.metadata;
  if (m && typeof m === 'object') {
    if (typeof m.namespace === 'string') m.namespace = interner.intern(m.namespace);
    if (m.labels && typeof m.labels === 'object') for (const k of Object.keys(m.labels)) m.labels[k] = str(m.labels[k]);
    if (Array.isArray(m.finalizers)) for (let i = 0; i < m.finalizers.length; i++) m.finalizers[i] = str(m.finalizers[i]);
    if (Array.isArray(m.ownerReferences)) {
      for (const ref of m.ownerReferences as Array<Record<string, unknown>>) {
        if (!ref || typeof ref !== 'object') continue;
        for (const k of ['apiVersion', 'kind', 'name', 'uid']) if (typeof ref[k] === 'string') ref[k] = interner.intern(ref[k] as string);
      }
    }
  }
  // Conditions repeat their type, status and reason across objects (messages may be unique: left alone).
  const conditions = o.status && typeof o.status === 'object' ? o.status.conditions : undefined;
  if (Array.isArray(conditions)) {
    for (const c of conditions as Array<Record<string, unknown>>) {
      if (!c || typeof c !== 'object') continue;
      for (const k of ['type', 'status', 'reason']) if (typeof c[k] === 'string') c[k] = interner.intern(c[k] as string);
    }
  }
  const spec = o.spec;
  if (spec && typeof spec === 'object' && !Array.isArray(spec)) {
    const fields = spec as Record<string, unknown>;
    for (const k of Object.keys(fields)) if (typeof fields[k] === 'string') fields[k] = interner.intern(fields[k] as string);
  }
  return obj;
}
