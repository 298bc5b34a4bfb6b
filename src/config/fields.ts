/**
 * Walks the configuration schema as plain JSON Schema. Error messages, the
 * changed-field list, hot-reload decisions and the generated reference all
 * need the same notion of "a field" and of "the schema at this path", so it
 * lives here once.
 *
 * A *field* is a named property the file can set. A *leaf field* is one
 * whose value is compared and documented as a whole: everything that is not
 * an object with fixed properties (scalars, unions, lists and maps such as
 * `matchLabels`). Sections and the label selector are descended into.
 */
import { Value } from 'typebox/value';
import { FlotillaConfigSchema, HOT_RELOAD_ANNOTATION, type FlotillaConfig } from './schema.ts';

/** The subset of JSON Schema the configuration uses, read structurally. */
export interface JsonSchema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  patternProperties?: Record<string, JsonSchema>;
  propertyNames?: JsonSchema;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  pattern?: string;
  [key: string]: unknown;
}

export const rootSchema: JsonSchema = FlotillaConfigSchema as unknown as JsonSchema;

export function isObjectWithFields(schema: JsonSchema): schema is JsonSchema & { properties: Record<string, JsonSchema> } {
  return schema.type === 'object' && schema.properties !== undefined;
}

/**
 * The schema describing the value at `segments` (property names and array
 * indices), or undefined when the path leaves the schema (unknown field).
 */
export function schemaAt(segments: readonly (string | number)[], root: JsonSchema = rootSchema): JsonSchema | undefined {
  let node: JsonSchema | undefined = root;
  for (const segment of segments) {
    if (node === undefined) return undefined;
    if (node.type === 'array' && node.items !== undefined) {
      node = node.items;
      continue;
    }
    const key = String(segment);
    if (node.properties !== undefined && Object.hasOwn(node.properties, key)) {
      node = node.properties[key];
      continue;
    }
    const patterns: JsonSchema[] = Object.values(node.patternProperties ?? {});
    if (patterns.length > 0) {
      node = patterns[0];
      continue;
    }
    node = typeof node.additionalProperties === 'object' ? node.additionalProperties : undefined;
  }
  return node;
}

/** Formats a path the way a user would write it: `workspaces.names[2]`, `a.matchLabels["x/y"]`. */
export function formatPath(segments: readonly (string | number)[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/**
 * Whether a change at `path` (dotted field path) applies without a restart:
 * the nearest `x-hot-reload` annotation on the path decides; none = restart.
 */
export function isHotReloadable(path: string, root: JsonSchema = rootSchema): boolean {
  let node: JsonSchema | undefined = root;
  let hot = root[HOT_RELOAD_ANNOTATION] === true;
  for (const segment of path.split('.')) {
    node = node?.properties?.[segment];
    if (node === undefined) return false;
    const annotation = node[HOT_RELOAD_ANNOTATION];
    if (typeof annotation === 'boolean') hot = annotation;
  }
  return hot;
}

export interface ConfigField {
  /** Dotted path, e.g. `concurrency.maxConcurrentReconciles`. */
  path: string;
  schema: JsonSchema;
  hotReloadable: boolean;
  /** The value a file that omits the field gets (undefined: the field stays unset). */
  defaultValue: unknown;
}

let cachedDefaults: FlotillaConfig | undefined;

/** The configuration of an empty file: every default applied. */
export function defaultConfigValue(): FlotillaConfig {
  cachedDefaults ??= Value.Default(FlotillaConfigSchema, {}) as FlotillaConfig;
  return structuredClone(cachedDefaults);
}

function valueAt(value: unknown, segments: readonly string[]): unknown {
  let node = value;
  for (const segment of segments) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[segment];
  }
  return node;
}

/** Every leaf field of the schema, in schema order. */
export function configLeafFields(root: JsonSchema = rootSchema): ConfigField[] {
  const defaults = root === rootSchema ? defaultConfigValue() : Value.Default(root as never, {});
  const fields: ConfigField[] = [];
  const visit = (schema: JsonSchema, segments: string[]): void => {
    if (segments.length > 0 && !isObjectWithFields(schema)) {
      const path = segments.join('.');
      fields.push({ path, schema, hotReloadable: isHotReloadable(path, root), defaultValue: valueAt(defaults, segments) });
      return;
    }
    for (const [name, child] of Object.entries(schema.properties ?? {})) visit(child, [...segments, name]);
  };
  visit(root, []);
  return fields;
}

/** Leaf fields whose changes apply without a restart. */
export const HOT_RELOADABLE_FIELDS: readonly string[] = Object.freeze(
  configLeafFields()
    .filter((field) => field.hotReloadable)
    .map((field) => field.path),
);
