/**
 * Human descriptions of schema constraints, derived from the schema itself so
 * that error messages and the generated reference can never disagree with
 * what validation enforces.
 */
import { CONSTRAINT_ANNOTATION } from './schema.ts';
import type { JsonSchema } from './fields.ts';

function constraintAnnotation(schema: JsonSchema): string | undefined {
  const value = schema[CONSTRAINT_ANNOTATION];
  return typeof value === 'string' ? value : undefined;
}

function isConst(schema: JsonSchema): boolean {
  return Object.hasOwn(schema, 'const');
}

interface Bounds {
  lower?: { value: number; inclusive: boolean };
  upper?: { value: number; inclusive: boolean };
}

function bounds(schema: JsonSchema): Bounds {
  const out: Bounds = {};
  if (schema.exclusiveMinimum !== undefined) out.lower = { value: schema.exclusiveMinimum, inclusive: false };
  else if (schema.minimum !== undefined) out.lower = { value: schema.minimum, inclusive: true };
  if (schema.exclusiveMaximum !== undefined) out.upper = { value: schema.exclusiveMaximum, inclusive: false };
  else if (schema.maximum !== undefined) out.upper = { value: schema.maximum, inclusive: true };
  return out;
}

/** " between 1 and 10000", " greater than 0 and at most 3600", "" */
function rangePhrase(schema: JsonSchema): string {
  const { lower, upper } = bounds(schema);
  if (lower?.inclusive && upper?.inclusive) return ` between ${lower.value} and ${upper.value}`;
  const parts: string[] = [];
  if (lower) parts.push(lower.inclusive ? `at least ${lower.value}` : `greater than ${lower.value}`);
  if (upper) parts.push(upper.inclusive ? `at most ${upper.value}` : `less than ${upper.value}`);
  if (parts.length === 0) return '';
  return lower && !upper && lower.inclusive ? ` of at least ${lower.value}` : ` ${parts.join(' and ')}`;
}

/** "[1, 10000]", "(0, 3600]", "≥ 0" */
function rangeInterval(schema: JsonSchema): string {
  const { lower, upper } = bounds(schema);
  if (lower && upper) {
    return `${lower.inclusive ? '[' : '('}${lower.value}, ${upper.value}${upper.inclusive ? ']' : ')'}`;
  }
  if (lower) return `${lower.inclusive ? '≥' : '>'} ${lower.value}`;
  if (upper) return `${upper.inclusive ? '≤' : '<'} ${upper.value}`;
  return '';
}

/**
 * What a valid value looks like, as the end of "X must be …":
 * "an integer between 1 and 10000", `one of "selector", "static", "all"`,
 * `"auto" or an integer between 1 and 256`.
 */
export function describeExpected(schema: JsonSchema): string {
  const annotation = constraintAnnotation(schema);
  if (annotation !== undefined) return annotation;
  if (schema.anyOf !== undefined) {
    const constants = schema.anyOf.filter(isConst).map((branch) => JSON.stringify(branch.const));
    const others = schema.anyOf.filter((branch) => !isConst(branch)).map(describeExpected);
    if (others.length === 0) return `one of ${constants.join(', ')}`;
    return [...constants, ...others].join(' or ');
  }
  if (schema.enum !== undefined) return `one of ${schema.enum.map((v) => JSON.stringify(v)).join(', ')}`;
  if (isConst(schema)) return JSON.stringify(schema.const);
  switch (schema.type) {
    case 'integer':
      return `an integer${rangePhrase(schema)}`;
    case 'number':
      return `a number${rangePhrase(schema)}`;
    case 'boolean':
      return 'true or false';
    case 'string':
      return schema.maxLength !== undefined ? `a string of at most ${schema.maxLength} characters` : 'a string';
    case 'array': {
      const item = schema.items === undefined ? 'anything' : describeExpected(schema.items);
      const extras: string[] = [];
      if (schema.uniqueItems) extras.push('without duplicates');
      if (schema.maxItems !== undefined) extras.push(`at most ${schema.maxItems} items`);
      return `a list (${[...extras, `each item ${item}`].join(', ')})`;
    }
    case 'object': {
      if (schema.properties !== undefined) {
        return `a mapping with the fields ${Object.keys(schema.properties).join(', ')}`;
      }
      const keys = schema.propertyNames === undefined ? 'strings' : describeExpected(schema.propertyNames);
      const values = Object.values(schema.patternProperties ?? {})[0];
      return `a mapping (keys: ${keys}; values: ${values === undefined ? 'anything' : describeExpected(values)})`;
    }
    default:
      return 'a valid value';
  }
}

/** Short type name for the reference table: `integer`, `"auto" | integer`, `list of string`. */
export function typeName(schema: JsonSchema): string {
  if (schema.anyOf !== undefined) {
    return schema.anyOf.map((branch) => (isConst(branch) ? JSON.stringify(branch.const) : typeName(branch))).join(' | ');
  }
  if (schema.enum !== undefined) return 'string';
  if (isConst(schema)) return JSON.stringify(schema.const);
  switch (schema.type) {
    case 'array':
      return `list of ${schema.items === undefined ? 'any' : typeName(schema.items)}`;
    case 'object':
      if (schema.properties !== undefined) return 'object';
      return `map of string to ${typeName(Object.values(schema.patternProperties ?? {})[0] ?? {})}`;
    default:
      return typeof schema.type === 'string' ? schema.type : 'any';
  }
}

/** Allowed values/range for the reference table: `[1, 10000]`, `selector, static, all`. */
export function allowedValues(schema: JsonSchema): string {
  const annotation = constraintAnnotation(schema);
  if (annotation !== undefined) return annotation;
  if (schema.anyOf !== undefined) {
    return schema.anyOf
      .map((branch) => (isConst(branch) ? JSON.stringify(branch.const) : allowedValues(branch) || typeName(branch)))
      .join(' or ');
  }
  if (schema.enum !== undefined) return schema.enum.map((v) => JSON.stringify(v)).join(', ');
  switch (schema.type) {
    case 'integer':
    case 'number':
      return rangeInterval(schema);
    case 'boolean':
      return 'true, false';
    case 'array': {
      const parts: string[] = [];
      const item = schema.items === undefined ? '' : allowedValues(schema.items);
      if (item !== '') parts.push(`each ${item}`);
      if (schema.uniqueItems) parts.push('no duplicates');
      if (schema.maxItems !== undefined) parts.push(`at most ${schema.maxItems} items`);
      return parts.join('; ');
    }
    case 'object': {
      if (schema.properties !== undefined) {
        return Object.entries(schema.properties)
          .map(([name, child]) => [name, allowedValues(child)] as const)
          .filter(([, allowed]) => allowed !== '')
          .map(([name, allowed]) => `${name}: ${allowed}`)
          .join('; ');
      }
      const keys = schema.propertyNames === undefined ? '' : allowedValues(schema.propertyNames);
      const valueSchema = Object.values(schema.patternProperties ?? {})[0];
      const values = valueSchema === undefined ? '' : allowedValues(valueSchema);
      return [keys && `keys: ${keys}`, values && `values: ${values}`].filter(Boolean).join('; ');
    }
    case 'string':
      return schema.maxLength !== undefined ? `at most ${schema.maxLength} characters` : '';
    default:
      return '';
  }
}

/** A value as it appears after "got": JSON, shortened so one bad field cannot flood the log. */
export function renderValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
