/**
 * Turns a TypeBox schema of a Flotilla kind into the `openAPIV3Schema` of its
 * CRD. Kubernetes requires a *structural* schema: every node typed, no
 * `patternProperties`, `additionalProperties` never beside `properties`, and
 * root `metadata` only as `{type: object}`. TypeBox emits plain JSON Schema,
 * so this walks it and:
 *   - replaces root `apiVersion`/`kind`/`metadata` with their canonical forms;
 *   - turns a single `patternProperties` entry (TypeBox's Record) into
 *     `additionalProperties` (key syntax is then checked by a CEL rule the
 *     schema author attaches, see LabelMap);
 *   - drops `additionalProperties: false` (the API server prunes unknown
 *     fields instead);
 *   - drops TypeBox-internal `~` keys and empty `required` lists;
 *   - emits keys in a fixed order so the generated YAML is stable.
 * Anything else it does not know is an error naming the path: a schema
 * feature that silently vanished from the CRD would be validation lost.
 */

export type StructuralType = 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';

export interface ValidationRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  fieldPath?: string;
  reason?: string;
  optionalOldSelf?: boolean;
}

/** The subset of apiextensions.k8s.io/v1 JSONSchemaProps the generator emits. */
export interface StructuralSchema {
  description?: string;
  type?: StructuralType;
  format?: string;
  enum?: unknown[];
  default?: unknown;
  nullable?: boolean;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  required?: string[];
  properties?: Record<string, StructuralSchema>;
  items?: StructuralSchema;
  additionalProperties?: StructuralSchema;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-validations'?: ValidationRule[];
}

/** Output key order; also the whitelist of keys copied through unchanged. */
const KEY_ORDER = [
  'description',
  'type',
  'format',
  'enum',
  'default',
  'nullable',
  'pattern',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'minItems',
  'maxItems',
  'minProperties',
  'maxProperties',
  'required',
  'properties',
  'items',
  'additionalProperties',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-embedded-resource',
  'x-kubernetes-int-or-string',
  'x-kubernetes-validations',
] as const satisfies readonly (keyof StructuralSchema)[];

const SCALAR_KEYS: ReadonlySet<string> = new Set(
  KEY_ORDER.filter((key) => !['properties', 'items', 'additionalProperties', 'required'].includes(key)),
);

const ROOT_OVERRIDES: Record<string, StructuralSchema> = {
  apiVersion: {
    description:
      'APIVersion defines the versioned schema of this representation of an object. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources',
    type: 'string',
  },
  kind: {
    description:
      'Kind is a string value representing the REST resource this object represents. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds',
    type: 'string',
  },
  metadata: { type: 'object' },
};

const STRUCTURAL_TYPES: ReadonlySet<string> = new Set([
  'object',
  'array',
  'string',
  'integer',
  'number',
  'boolean',
]);

export class SchemaConversionError extends Error {
  override name = 'SchemaConversionError';
}

/** Converts the TypeBox schema of a whole object (root) into a CRD openAPIV3Schema. */
export function toStructuralSchema(root: unknown): StructuralSchema {
  return convertNode(root, '', true);
}

function convertNode(input: unknown, path: string, isRoot: boolean): StructuralSchema {
  const where = path === '' ? '<root>' : path;
  if (!isPlainObject(input)) {
    throw new SchemaConversionError(`${where}: expected a schema object`);
  }
  const source = ownSchemaEntries(input);
  const out: Record<string, unknown> = {};

  for (const [key, value] of Object.entries(source)) {
    if (SCALAR_KEYS.has(key)) {
      out[key] = structuredClone(value);
    } else if (key === 'anyOf' && source['x-kubernetes-int-or-string'] === true) {
      continue; // int-or-string: the CRD types it with the marker (and its CEL rule), TypeBox with anyOf
    } else if (
      key === 'properties' ||
      key === 'items' ||
      key === 'required' ||
      key === 'patternProperties' ||
      key === 'additionalProperties'
    ) {
      continue; // handled below, they need recursion or cross-checks
    } else {
      throw new SchemaConversionError(`${where}: unsupported schema keyword "${key}"`);
    }
  }

  const type = source['type'];
  const untypedAllowed =
    source['x-kubernetes-preserve-unknown-fields'] === true || source['x-kubernetes-int-or-string'] === true;
  if (type === undefined ? !untypedAllowed : typeof type !== 'string' || !STRUCTURAL_TYPES.has(type)) {
    throw new SchemaConversionError(`${where}: every node needs a single "type" (got ${JSON.stringify(type)})`);
  }

  if (source['properties'] !== undefined) {
    const properties = source['properties'];
    if (!isPlainObject(properties)) {
      throw new SchemaConversionError(`${where}: "properties" must be an object`);
    }
    const converted: Record<string, StructuralSchema> = {};
    for (const [name, child] of Object.entries(properties)) {
      const override = isRoot ? ROOT_OVERRIDES[name] : undefined;
      converted[name] = override === undefined ? convertNode(child, joinPath(path, name), false) : { ...override };
    }
    if (Object.keys(converted).length > 0) {
      out['properties'] = converted;
    }
  }

  const required = source['required'];
  if (Array.isArray(required) && required.length > 0) {
    out['required'] = [...required];
  }

  if (source['items'] !== undefined) {
    out['items'] = convertNode(source['items'], `${path}[*]`, false);
  }

  const mapValue = mapValueSchema(source, where);
  if (mapValue !== undefined) {
    if (out['properties'] !== undefined) {
      throw new SchemaConversionError(`${where}: "additionalProperties" may not be combined with "properties"`);
    }
    out['additionalProperties'] = convertNode(mapValue, `${path}[*]`, false);
  }

  if (
    type === 'object' &&
    out['properties'] === undefined &&
    out['additionalProperties'] === undefined &&
    !untypedAllowed
  ) {
    // The API server would prune every field of such an object: a mistake.
    throw new SchemaConversionError(`${where}: object without properties or additionalProperties`);
  }

  return ordered(out);
}

/**
 * The schema of a map's values, from TypeBox's Record (`patternProperties`
 * with one pattern) or from an explicit `additionalProperties` schema;
 * `undefined` for plain objects.
 */
function mapValueSchema(source: Record<string, unknown>, where: string): unknown {
  const patternProperties = source['patternProperties'];
  const additional = source['additionalProperties'];
  if (patternProperties !== undefined) {
    if (!isPlainObject(patternProperties)) {
      throw new SchemaConversionError(`${where}: "patternProperties" must be an object`);
    }
    const values = Object.values(patternProperties);
    if (values.length !== 1) {
      throw new SchemaConversionError(`${where}: a map needs exactly one key pattern`);
    }
    if (additional !== undefined && additional !== false) {
      throw new SchemaConversionError(`${where}: "patternProperties" with "additionalProperties" is ambiguous`);
    }
    return values[0];
  }
  if (additional === undefined || additional === false) {
    return undefined;
  }
  if (additional === true) {
    throw new SchemaConversionError(`${where}: "additionalProperties: true" is not structural; give a schema`);
  }
  return additional;
}

/** Enumerable, non-internal keys (TypeBox marks its own with a `~` prefix). */
function ownSchemaEntries(input: Record<string, unknown>): Record<string, unknown> {
  const entries: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    if (!key.startsWith('~') && value !== undefined) {
      entries[key] = value;
    }
  }
  return entries;
}

function ordered(node: Record<string, unknown>): StructuralSchema {
  const out: Record<string, unknown> = {};
  for (const key of KEY_ORDER) {
    if (node[key] !== undefined) {
      out[key] = node[key];
    }
  }
  return out as StructuralSchema;
}

function joinPath(path: string, name: string): string {
  return path === '' ? name : `${path}.${name}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
