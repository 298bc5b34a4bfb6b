/**
 * An independent check of the Kubernetes structural-schema rules (KEP-1002,
 * apiextensions validation), written separately from src/api/structural.ts
 * so that a bug in the converter cannot also hide in its own test.
 * Returns human-readable violations; empty means structural.
 */

const ALLOWED_KEYS = new Set([
  'description', 'type', 'format', 'enum', 'default', 'nullable', 'pattern',
  'minLength', 'maxLength', 'minimum', 'maximum', 'minItems', 'maxItems',
  'minProperties', 'maxProperties', 'required', 'properties', 'items',
  'additionalProperties', 'title', 'example',
  'x-kubernetes-list-type', 'x-kubernetes-list-map-keys', 'x-kubernetes-map-type',
  'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-embedded-resource',
  'x-kubernetes-int-or-string', 'x-kubernetes-validations',
]);
const TYPES = new Set(['object', 'array', 'string', 'integer', 'number', 'boolean']);
const SCALAR_TYPES = new Set(['string', 'integer', 'number', 'boolean']);

type Node = Record<string, unknown>;

export function structuralViolations(root: unknown): string[] {
  const problems: string[] = [];
  if (!isObject(root) || root['type'] !== 'object' || !isObject(root['properties'])) {
    return ['<root>: must be an object schema with properties'];
  }
  const props = root['properties'];
  if (JSON.stringify(props['metadata']) !== JSON.stringify({ type: 'object' })) {
    problems.push('<root>.metadata: must be exactly {type: object}');
  }
  for (const name of ['apiVersion', 'kind']) {
    const node = props[name];
    if (!isObject(node) || node['type'] !== 'string') problems.push(`<root>.${name}: must be a string`);
  }
  walk(root, '', problems);
  return problems;
}

function walk(node: unknown, path: string, problems: string[]): void {
  const at = path === '' ? '<root>' : path;
  if (!isObject(node)) {
    problems.push(`${at}: not a schema object`);
    return;
  }
  for (const key of Object.keys(node)) {
    if (!ALLOWED_KEYS.has(key)) problems.push(`${at}: keyword "${key}" is not allowed`);
  }
  const preserve = node['x-kubernetes-preserve-unknown-fields'] === true;
  const intOrString = node['x-kubernetes-int-or-string'] === true;
  const type = node['type'];
  if (type === undefined) {
    if (!preserve && !intOrString) problems.push(`${at}: missing type`);
  } else if (typeof type !== 'string' || !TYPES.has(type)) {
    problems.push(`${at}: invalid type ${JSON.stringify(type)}`);
  }

  const properties = node['properties'];
  const additional = node['additionalProperties'];
  if (properties !== undefined && additional !== undefined) {
    problems.push(`${at}: properties and additionalProperties are mutually exclusive`);
  }
  if (typeof additional === 'boolean') {
    problems.push(`${at}: additionalProperties must be a schema, not a boolean`);
  }
  if (path !== '' && path.endsWith('.metadata') && isObject(properties)) {
    problems.push(`${at}: metadata may only be specified at the root`);
  }
  // Root metadata is the one object left bare: the API server fills in its schema.
  if (type === 'object' && properties === undefined && additional === undefined && !preserve && path !== 'metadata') {
    problems.push(`${at}: object with neither properties nor additionalProperties prunes everything`);
  }
  if (type !== 'object' && (properties !== undefined || additional !== undefined)) {
    problems.push(`${at}: properties on a non-object`);
  }
  const required = node['required'];
  if (required !== undefined) {
    if (!Array.isArray(required) || required.length === 0) {
      problems.push(`${at}: required must be a non-empty list`);
    } else if (isObject(properties)) {
      for (const name of required) {
        if (typeof name !== 'string' || !(name in properties)) problems.push(`${at}: required "${String(name)}" is not a property`);
      }
    }
  }
  if (type === 'array' && !isObject(node['items'])) {
    problems.push(`${at}: arrays need a single items schema`);
  }
  if (type !== 'array' && node['items'] !== undefined) {
    problems.push(`${at}: items on a non-array`);
  }
  if (node['enum'] !== undefined && type !== undefined) {
    const values = node['enum'];
    if (!Array.isArray(values) || values.some((v) => typeof v !== jsType(type))) {
      problems.push(`${at}: enum values must all be of type ${String(type)}`);
    }
  }
  checkListType(node, at, problems);
  checkValidations(node, at, problems);

  if (isObject(properties)) {
    for (const [name, child] of Object.entries(properties)) walk(child, path === '' ? name : `${path}.${name}`, problems);
  }
  if (isObject(additional)) walk(additional, `${path}[*]`, problems);
  if (isObject(node['items'])) walk(node['items'], `${path}[*]`, problems);
}

function checkListType(node: Node, at: string, problems: string[]): void {
  const listType = node['x-kubernetes-list-type'];
  if (listType === undefined) {
    if (node['x-kubernetes-list-map-keys'] !== undefined) problems.push(`${at}: list-map-keys without list-type map`);
    return;
  }
  if (node['type'] !== 'array') problems.push(`${at}: list-type on a non-array`);
  if (listType !== 'map') return;
  const keys = node['x-kubernetes-list-map-keys'];
  const items = node['items'];
  if (!Array.isArray(keys) || keys.length === 0) {
    problems.push(`${at}: list-type map needs list-map-keys`);
    return;
  }
  if (!isObject(items) || items['type'] !== 'object' || !isObject(items['properties'])) {
    problems.push(`${at}: list-type map needs object items`);
    return;
  }
  const itemProps = items['properties'];
  const itemRequired = Array.isArray(items['required']) ? items['required'] : [];
  for (const key of keys) {
    const keyNode = itemProps[key];
    if (!isObject(keyNode) || !SCALAR_TYPES.has(String(keyNode['type']))) {
      problems.push(`${at}: map key "${String(key)}" must be a scalar property`);
    } else if (!itemRequired.includes(key) && keyNode['default'] === undefined) {
      problems.push(`${at}: map key "${String(key)}" must be required or defaulted`);
    }
  }
}

function checkValidations(node: Node, at: string, problems: string[]): void {
  const rules = node['x-kubernetes-validations'];
  if (rules === undefined) return;
  if (!Array.isArray(rules) || rules.length === 0) {
    problems.push(`${at}: x-kubernetes-validations must be a non-empty list`);
    return;
  }
  for (const rule of rules) {
    if (!isObject(rule) || typeof rule['rule'] !== 'string' || rule['rule'] === '') {
      problems.push(`${at}: validation without a rule`);
    } else if (typeof rule['message'] !== 'string' || rule['message'] === '') {
      problems.push(`${at}: validation "${rule['rule']}" has no message`);
    }
  }
}

function jsType(type: unknown): string {
  return type === 'integer' ? 'number' : String(type);
}

function isObject(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
