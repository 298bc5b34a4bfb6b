import { isDeepStrictEqual } from 'node:util';
import { configLeafFields } from './fields.ts';
import type { FlotillaConfig } from './schema.ts';

const leafPaths = configLeafFields().map((field) => field.path);

function valueAt(config: unknown, path: string): unknown {
  let node = config;
  for (const segment of path.split('.')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[segment];
  }
  return node;
}

/**
 * The leaf fields (dotted paths, schema order) whose values differ. Lists
 * and maps (`workspaces.names`, `workspaces.selector.matchLabels`) compare
 * as a whole and are reported by their field path, which is what an
 * operator reads and what hot-reload decisions are keyed on.
 */
export function diffConfig(previous: FlotillaConfig, next: FlotillaConfig): string[] {
  return leafPaths.filter((path) => !isDeepStrictEqual(valueAt(previous, path), valueAt(next, path)));
}

export { valueAt as configValueAt };
