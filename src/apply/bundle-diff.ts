/**
 * What `flotilla apply --diff` shows: the live Bundle against the Bundle as
 * it would be after the apply (the server's dry-run answer, so fields other
 * managers own and defaults are as they will be). Per manifest: added,
 * removed or changed, with a unified diff of its text; then each other
 * field of the spec, and the Bundle's labels and annotations, that would
 * change, as a unified diff of its YAML.
 */
import { stringify } from 'yaml';
import { GROUP, Kind } from '../api/constants.ts';
import { jsonEqual } from '../placement/json-equal.ts';
import { unifiedDiff } from './line-diff.ts';

/** The parts of a Bundle the diff reads. */
export interface DiffableBundle {
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: { resources?: Array<{ name: string; content: string }> } & Record<string, unknown>;
}

export interface ResourceChange {
  name: string;
  change: 'added' | 'removed' | 'changed';
}

export interface BundleDiff {
  /** False when the apply would change nothing. */
  changed: boolean;
  resources: ResourceChange[];
  /** Other fields that change: `spec.targets`, `metadata.labels`, … */
  fields: string[];
  /** The summary and the unified diffs, as printed. */
  text: string;
}

/** How kubectl names the resource: `bundle.flotilla.dev`. */
export const BUNDLE_RESOURCE = `${Kind.Bundle.toLowerCase()}.${GROUP}`;

/** `live` undefined: the Bundle does not exist yet. */
export function diffBundles(live: DiffableBundle | undefined, applied: DiffableBundle): BundleDiff {
  const before = new Map((live?.spec.resources ?? []).map((r) => [r.name, r.content]));
  const after = new Map((applied.spec.resources ?? []).map((r) => [r.name, r.content]));
  const resources: ResourceChange[] = [];
  const diffs: string[] = [];
  for (const name of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const old = before.get(name);
    const now = after.get(name);
    if (old === now) continue;
    resources.push({ name, change: old === undefined ? 'added' : now === undefined ? 'removed' : 'changed' });
    diffs.push(unifiedDiff(old, now, `live/${name}`, `applied/${name}`));
  }

  const fields: string[] = [];
  const compare = (field: string, old: unknown, now: unknown) => {
    if (jsonEqual(old ?? null, now ?? null)) return;
    fields.push(field);
    diffs.push(unifiedDiff(yamlOf(old), yamlOf(now), `live/${field}`, `applied/${field}`));
  };
  compare('metadata.labels', live?.metadata.labels, applied.metadata.labels);
  compare('metadata.annotations', live?.metadata.annotations, applied.metadata.annotations);
  const specFields = new Set([...Object.keys(live?.spec ?? {}), ...Object.keys(applied.spec)]);
  specFields.delete('resources');
  for (const field of [...specFields].sort()) compare(`spec.${field}`, live?.spec[field], applied.spec[field]);

  const changed = live === undefined || resources.length > 0 || fields.length > 0;
  const where = `${BUNDLE_RESOURCE}/${applied.metadata.name} (namespace ${applied.metadata.namespace ?? ''})`;
  const summary = !changed
    ? [`${where}: no changes`]
    : [
        `${where} would be ${live === undefined ? 'created' : 'configured'}:`,
        ...resources.map((r) => `  ${SIGN[r.change]} resource ${r.name} (${r.change})`),
        ...fields.map((f) => `  ~ ${f} (${live === undefined ? 'set' : 'changed'})`),
      ];
  return { changed, resources, fields, text: `${[...summary, ...(diffs.length > 0 ? [''] : [])].join('\n')}\n${diffs.join('')}` };
}

const SIGN = { added: '+', removed: '-', changed: '~' } as const;

/** A field's value as YAML lines; absent is no text at all (/dev/null in the diff). */
function yamlOf(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  return stringify(value, { lineWidth: 0, sortMapEntries: true });
}
