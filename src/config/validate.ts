/**
 * Turns a parsed configuration document into a validated, defaulted,
 * frozen `FlotillaConfig`, or a `ConfigError` listing every problem, each
 * naming the field and what it allows.
 *
 * Detection is TypeBox's (the schema is the one source of truth); the
 * wording is ours: TypeBox reports keywords ("must be >= 1"), while an
 * operator needs the field's whole contract ("must be an integer between 1
 * and 10000, got 0"), which `describe.ts` derives from the same schema.
 */
import { Value } from 'typebox/value';
import { Settings } from 'typebox/system';
import { ConfigError, type ConfigIssue } from './errors.ts';
import { describeExpected, renderValue } from './describe.ts';
import { configLeafFields, formatPath, rootSchema, schemaAt } from './fields.ts';
import { FlotillaConfigSchema, type FlotillaConfig } from './schema.ts';
import { semanticIssues } from './semantic-checks.ts';
import { deepFreeze } from './freeze.ts';
import { closestName } from '../util/did-you-mean.ts';
import { decodePointer, isPlainObject, valueAt, withoutNulls } from '../util/plain-data.ts';

/** Maps a field path to its position in the source; `key: true` asks for the key rather than the value. */
export type Locator = (segments: readonly (string | number)[], options: { key: boolean }) => { line: number; column: number } | undefined;

export interface ValidateOptions {
  /** Names the file in messages (default: `configuration`). */
  source?: string;
  locate?: Locator;
}

interface LocatedIssue {
  segments: (string | number)[];
  message: string;
  /** Point at the key (unknown fields) rather than the value. */
  atKey?: boolean;
}

/**
 * Upper bound on collected schema errors. TypeBox stops at 8 by default
 * (a guard for untrusted input); a config file is trusted and small, and we
 * promise to report every problem at once.
 */
const MAX_SCHEMA_ERRORS = 1_000;

function unknownFieldIssue(parent: (string | number)[], key: string): LocatedIssue {
  const known = Object.keys(schemaAt(parent)?.properties ?? {});
  // A sibling first (a typo); otherwise a field of that name elsewhere (the right name in the wrong section).
  let suggestion = closestName(key, known);
  if (suggestion === undefined) {
    const elsewhere = new Map(configLeafFields().map((field) => [field.path.split('.').at(-1) ?? field.path, field.path]));
    const name = closestName(key, [...elsewhere.keys()]);
    suggestion = name === undefined ? undefined : elsewhere.get(name);
  }
  const field = formatPath([...parent, key]);
  const hint = suggestion === undefined ? '' : ` (did you mean ${JSON.stringify(suggestion)}?)`;
  return {
    segments: [...parent, key],
    atKey: true,
    message: `${field} is not a known field${hint}; ${parent.length === 0 ? 'top-level sections' : `fields of ${formatPath(parent)}`} are: ${known.join(', ')}`,
  };
}

function fieldName(segments: readonly (string | number)[]): string {
  return segments.length === 0 ? 'the configuration' : formatPath(segments);
}

function schemaIssues(value: unknown): LocatedIssue[] {
  const previous = Settings.Get().maxErrors;
  let errors;
  try {
    Settings.Set({ maxErrors: MAX_SCHEMA_ERRORS });
    errors = Value.Errors(FlotillaConfigSchema, value);
  } finally {
    Settings.Set({ maxErrors: previous });
  }

  const issues: LocatedIssue[] = [];
  const reported = new Set<string>();
  const once = (key: string, issue: () => LocatedIssue): void => {
    if (reported.has(key)) return;
    reported.add(key);
    issues.push(issue());
  };

  for (const error of errors) {
    const segments = decodePointer(error.instancePath);
    switch (error.keyword) {
      case 'additionalProperties':
        for (const key of error.params.additionalProperties) {
          once(`unknown:${formatPath([...segments, key])}`, () => unknownFieldIssue(segments, key));
        }
        break;
      case 'required':
        for (const key of error.params.requiredProperties) {
          once(`value:${formatPath([...segments, key])}`, () => ({
            segments: [...segments, key],
            message: `${formatPath([...segments, key])} is required`,
          }));
        }
        break;
      case 'propertyNames':
        // Summary of the per-key errors handled below.
        break;
      default: {
        // `additionalProperties: false` also yields a "schema is false" error per key: already reported.
        if (error.keyword === 'boolean' && error.schemaPath.endsWith('/additionalProperties')) break;
        if (error.schemaPath.endsWith('/propertyNames')) {
          const parent = segments.slice(0, -1);
          const key = String(segments.at(-1));
          const keySchema = schemaAt(parent)?.propertyNames;
          once(`key:${formatPath(segments)}`, () => ({
            segments,
            atKey: true,
            message: `key ${JSON.stringify(key)} in ${fieldName(parent)} must be ${keySchema === undefined ? 'a valid key' : describeExpected(keySchema)}`,
          }));
          break;
        }
        const schema = schemaAt(segments, rootSchema);
        once(`value:${formatPath(segments)}`, () => ({
          segments,
          message: `${fieldName(segments)} must be ${schema === undefined ? 'a valid value' : describeExpected(schema)}, got ${renderValue(valueAt(value, segments))}`,
        }));
      }
    }
  }
  return issues;
}

/**
 * Validates a parsed document. Returns the defaulted configuration, or the
 * list of problems (never both).
 */
export function validateConfig(
  document: unknown,
  options: ValidateOptions = {},
): { ok: true; config: FlotillaConfig } | { ok: false; issues: ConfigIssue[] } {
  // An empty file is a valid file: every default.
  const value = withoutNulls(structuredClone(document ?? {}));
  Value.Default(FlotillaConfigSchema, value);

  const located = schemaIssues(value);
  const invalidPaths = new Set(located.map((issue) => formatPath(issue.segments)));
  located.push(...semanticIssues(value, invalidPaths));

  if (located.length === 0) return { ok: true, config: deepFreeze(value as FlotillaConfig) };
  const issues = located.map(({ segments, message, atKey }): ConfigIssue => {
    const position = options.locate?.(segments, { key: atKey === true });
    return { path: formatPath(segments), message, ...(position === undefined ? {} : position) };
  });
  // File order reads best; issues without a position keep their relative order at the end.
  const order = (issue: ConfigIssue) => (issue.line ?? Infinity) * 1e6 + (issue.column ?? 0);
  issues.sort((a, b) => order(a) - order(b) || 0);
  return { ok: false, issues };
}

/** Validates a parsed document; throws a `ConfigError` listing every problem. */
export function parseConfig(document: unknown, options: ValidateOptions = {}): FlotillaConfig {
  const result = validateConfig(document, options);
  if (!result.ok) throw new ConfigError(options.source ?? 'configuration', result.issues);
  return result.config;
}
