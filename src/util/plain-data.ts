/**
 * Helpers for plain data parsed from YAML or JSON (config files,
 * `flotilla.yaml`), before a schema has said what it is.
 */

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The value at `segments` below `root`, or undefined where the path leaves the data. */
export function valueAt(root: unknown, segments: readonly (string | number)[]): unknown {
  let node = root;
  for (const segment of segments) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[segment];
  }
  return node;
}

/**
 * `key:` with nothing after it is YAML null. Treat it like an absent key (as
 * Go's YAML decoding into structs does, and kubectl with manifests), so
 * commenting out every field of a section leaves the section's defaults
 * instead of a type error.
 */
export function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) if (child !== null) out[key] = withoutNulls(child);
  return out;
}

/** The segments of a JSON Pointer (RFC 6901) such as TypeBox reports errors at: `/a/0/b~1c` → `['a', 0, 'b/c']`. */
export function decodePointer(pointer: string): (string | number)[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((part) => (/^(0|[1-9][0-9]*)$/.test(part) ? Number(part) : part));
}
