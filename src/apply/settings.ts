/**
 * `flotilla.yaml`: the Bundle's settings next to its manifests — where it
 * goes (`targets`), how it is applied (`options`, `rolloutStrategy`,
 * `paused`) and the Bundle's own `labels` and `annotations`. Fleet keeps the
 * same things in `fleet.yaml`.
 *
 * Validated against the Bundle's own schema (`src/api/bundle.ts`, the
 * source of the CRD), plus what the CRD's CEL rules and the controller
 * check (`compileTargets`), and unknown fields are errors: the API server
 * would prune a misspelt `target:` without a word. Every problem names the
 * file, the field and its line.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import Type from 'typebox';
import { Settings } from 'typebox/system';
import { Value } from 'typebox/value';
import { LineCounter, parseDocument } from 'yaml';
import { BundleSpec } from '../api/bundle.ts';
import { LabelMap } from '../api/label-selector.ts';
import {
  DNS1123_LABEL_PATTERN,
  DNS1123_SUBDOMAIN_PATTERN,
  LABEL_KEY_PATTERN,
  LABEL_VALUE_PATTERN,
  PERCENT_PATTERN,
} from '../api/patterns.ts';
import { LabelKey } from '../api/primitives.ts';
import { describeExpected, renderValue } from '../config/describe.ts';
import { formatPath, schemaAt, type JsonSchema } from '../config/fields.ts';
import { yamlLocator } from '../config/load.ts';
import { compileTargets } from '../placement/target-criteria.ts';
import { InputError, type InputProblem } from './problems.ts';
import { SETTINGS_FILE } from './sources.ts';
import { closestName } from '../util/did-you-mean.ts';
import { decodePointer, isPlainObject, valueAt, withoutNulls } from '../util/plain-data.ts';

export const BundleSettingsSchema = Type.Object(
  {
    labels: Type.Optional(LabelMap('Labels of the Bundle.')),
    annotations: Type.Optional(Type.Record(LabelKey(), Type.String(), { additionalProperties: false, description: 'Annotations of the Bundle.' })),
    targets: BundleSpec.properties.targets,
    paused: BundleSpec.properties.paused,
    options: BundleSpec.properties.options,
    rolloutStrategy: BundleSpec.properties.rolloutStrategy,
  },
  { description: `The Bundle's settings in ${SETTINGS_FILE}.` },
);
export type BundleSettings = Type.Static<typeof BundleSettingsSchema>;

const ROOT = BundleSettingsSchema as unknown as JsonSchema;

/** The settings in `dir/flotilla.yaml`, or none when there is no such file. */
export async function loadBundleSettings(dir: string): Promise<{ settings: BundleSettings; file: string | undefined }> {
  const file = join(dir, SETTINGS_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { settings: {}, file: undefined };
    throw new InputError([{ file, message: `cannot read it: ${(error as Error).message}` }]);
  }
  return { settings: parseBundleSettings(text, file), file };
}

interface Issue {
  segments: (string | number)[];
  message: string;
  atKey?: boolean;
}

/** Parses and validates settings text; throws an InputError listing every problem. `file` names it in messages. */
export function parseBundleSettings(text: string, file: string): BundleSettings {
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true, version: '1.2' });
  if (document.errors.length > 0) {
    throw new InputError(
      document.errors.map((error) => ({
        file,
        line: error.linePos?.[0]?.line,
        message: `invalid YAML: ${error.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? error.code}`,
      })),
    );
  }
  let data: unknown;
  try {
    data = document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    throw new InputError([{ file, message: `invalid YAML: ${(error as Error).message}` }]);
  }
  // An empty (or all-comments) file is valid: no settings.
  const value = withoutNulls(data ?? {});
  if (!isPlainObject(value)) {
    throw new InputError([{ file, line: 1, message: `must be a mapping of Bundle settings (${Object.keys(BundleSettingsSchema.properties).join(', ')}), not ${renderValue(value)}` }]);
  }
  const issues = [...unknownFields(ROOT, value, [])];
  issues.push(...schemaIssues(value, issues));
  issues.push(...targetIssues(value, issues));
  if (issues.length === 0) return value as BundleSettings;
  const locate = yamlLocator(document, lines);
  const problems = issues.map(
    (issue): InputProblem => ({ file, line: locate(issue.segments, { key: issue.atKey === true })?.line, message: issue.message }),
  );
  problems.sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity));
  throw new InputError(problems);
}

/** Fields the schema does not declare, with the nearest known name when it looks like a typo. */
function* unknownFields(schema: JsonSchema | undefined, value: unknown, segments: (string | number)[]): Generator<Issue> {
  if (schema === undefined) return;
  if (Array.isArray(value)) {
    if (schema.items !== undefined) for (const [index, item] of value.entries()) yield* unknownFields(schema.items, item, [...segments, index]);
    return;
  }
  if (!isPlainObject(value) || schema.properties === undefined) return;
  const known = Object.keys(schema.properties);
  for (const [key, child] of Object.entries(value)) {
    if (!Object.hasOwn(schema.properties, key)) {
      const hint = closestName(key, known);
      yield {
        segments: [...segments, key],
        atKey: true,
        message:
          `${formatPath([...segments, key])} is not a known field${hint === undefined ? '' : ` (did you mean "${hint}"?)`}; ` +
          `${segments.length === 0 ? `${SETTINGS_FILE} holds` : `${formatPath(segments)} takes`} ${known.join(', ')}`,
      };
      continue;
    }
    yield* unknownFields(schema.properties[key], child, [...segments, key]);
  }
}

/** TypeBox's findings, one per field, worded with what the field accepts. */
function schemaIssues(value: unknown, already: readonly Issue[]): Issue[] {
  const previous = Settings.Get().maxErrors;
  let errors;
  try {
    Settings.Set({ maxErrors: 1_000 });
    errors = [...Value.Errors(BundleSettingsSchema, value)];
  } finally {
    Settings.Set({ maxErrors: previous });
  }
  const reported = new Set(already.map((issue) => formatPath(issue.segments)));
  const issues: Issue[] = [];
  const once = (issue: Issue) => {
    const key = formatPath(issue.segments);
    if (reported.has(key)) return;
    reported.add(key);
    issues.push(issue);
  };
  for (const error of errors) {
    const segments = decodePointer(error.instancePath);
    // The anyOf summary speaks for its branches.
    if (/\/anyOf\/\d+/.test(error.schemaPath.slice(error.schemaPath.lastIndexOf('/properties/')))) continue;
    const path = formatPath(segments) || SETTINGS_FILE;
    switch (error.keyword) {
      case 'required':
        for (const key of (error.params as { requiredProperties: string[] }).requiredProperties) {
          once({ segments: [...segments, key], message: `${formatPath([...segments, key])} is required` });
        }
        break;
      case 'additionalProperties': {
        // Only maps (labels, annotations) forbid other keys in this schema: the key itself is invalid.
        const keySchema = Object.values(schemaAt(segments, ROOT)?.patternProperties ?? {})[0] === undefined ? undefined : LabelKey();
        for (const key of (error.params as { additionalProperties: string[] }).additionalProperties) {
          once({
            segments: [...segments, key],
            atKey: true,
            message: `key ${JSON.stringify(key)} in ${path} must be ${keySchema === undefined ? 'a valid key' : expected(keySchema as unknown as JsonSchema)}`,
          });
        }
        break;
      }
      case 'maxProperties':
        once({ segments, message: `${path} has ${Object.keys(valueAt(value, segments) as object).length} keys, more than the ${(error.params as { limit: number }).limit} allowed` });
        break;
      default: {
        if (error.keyword === 'boolean' && error.schemaPath.endsWith('/additionalProperties')) break;
        const schema = schemaAt(segments, ROOT);
        once({ segments, message: `${path} must be ${schema === undefined ? 'a valid value' : expected(schema)}, got ${renderValue(valueAt(value, segments))}` });
      }
    }
  }
  return issues;
}

/**
 * What the CRD's CEL rules and the controller add to the schema (a target
 * needs a criterion; selector operators and values agree), for targets the
 * schema found nothing wrong with.
 */
function targetIssues(value: Record<string, unknown>, already: readonly Issue[]): Issue[] {
  if (!Array.isArray(value['targets'])) return [];
  const faulty = new Set(already.filter((i) => i.segments[0] === 'targets' && typeof i.segments[1] === 'number').map((i) => i.segments[1]));
  return compileTargets(value['targets'])
    .problems.map((problem): Issue => ({
      segments: parseFieldPath(problem.field.replace(/^spec\./, '')),
      message: problem.message.replaceAll('spec.targets', 'targets'),
    }))
    .filter((issue) => !faulty.has(issue.segments[1] as number));
}

const PATTERN_PHRASES: Record<string, string> = {
  [DNS1123_LABEL_PATTERN]: "a DNS-1123 label (at most 63 lower-case letters, digits or '-', starting and ending with a letter or digit)",
  [DNS1123_SUBDOMAIN_PATTERN]: "a DNS-1123 subdomain (at most 253 lower-case letters, digits, '-' or '.', each part starting and ending with a letter or digit)",
  [LABEL_KEY_PATTERN]: "a label key (an optional DNS subdomain prefix and '/', then at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit)",
  [LABEL_VALUE_PATTERN]: "a label value (empty, or at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit)",
  [PERCENT_PATTERN]: 'a percentage from 0% to 100% (e.g. "25%")',
};

/** What a valid value looks like, for "X must be …". */
function expected(schema: JsonSchema): string {
  if (schema.anyOf !== undefined) return schema.anyOf.map(expected).join(' or ');
  if (schema.type === 'string' && schema.pattern !== undefined) return PATTERN_PHRASES[schema.pattern] ?? `a string matching ${schema.pattern}`;
  if (schema.type === 'array' && schema.items !== undefined) {
    return `a list${schema.maxItems === undefined ? '' : ` of at most ${schema.maxItems} items`}, each ${expected(schema.items)}`;
  }
  if (schema.type === 'object' && schema.patternProperties !== undefined) {
    const valueSchema = Object.values(schema.patternProperties)[0];
    return `a mapping of label keys to ${valueSchema === undefined ? 'values' : expected(valueSchema).replace(/^an? /, '')}s`;
  }
  return describeExpected(schema);
}

/** `targets[1].clusterSelector.matchLabels[env]` → ['targets', 1, 'clusterSelector', 'matchLabels', 'env']. */
function parseFieldPath(path: string): (string | number)[] {
  const segments: (string | number)[] = [];
  for (const match of path.matchAll(/([^.[\]]+)|\[(\d+)\]|\[([^\]]*)\]/g)) {
    if (match[1] !== undefined) segments.push(match[1]);
    else if (match[2] !== undefined) segments.push(Number(match[2]));
    else if (match[3] !== undefined) segments.push(match[3].replace(/^"|"$/g, ''));
  }
  return segments;
}

