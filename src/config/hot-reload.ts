/**
 * Which configuration changes take effect on a running controller. The
 * schema's `x-hot-reload` annotations decide (see `fields.ts`): concurrency
 * knobs (except `poolThreads`), API qps/burst, the log level and the
 * workspace set reload; everything else (leader election, addresses,
 * timeouts, backoff) is read once at start.
 */
import { diffConfig, configValueAt } from './diff.ts';
import { HOT_RELOADABLE_FIELDS, isHotReloadable } from './fields.ts';
import { deepFreeze } from './freeze.ts';
import type { FlotillaConfig } from './schema.ts';

export { HOT_RELOADABLE_FIELDS, isHotReloadable };

export interface HotReloadPlan {
  /**
   * The configuration the process runs with from now on: hot-reloadable
   * fields from the file, the rest kept at their running values, so that
   * reading a restart-only field never reports a value that is not in effect.
   */
  next: FlotillaConfig;
  /** Hot-reloadable fields whose values changed (what consumers must apply). */
  changed: string[];
  /** Fields that differ in the file but only take effect after a restart. */
  restartRequired: string[];
}

function setAt(target: Record<string, unknown>, path: string, value: unknown): void {
  const segments = path.split('.');
  const last = segments.pop();
  if (last === undefined) return;
  let node = target;
  for (const segment of segments) node = node[segment] as Record<string, unknown>;
  node[last] = structuredClone(value);
}

/** Splits the difference between the running configuration and a newly read file. */
export function planHotReload(running: FlotillaConfig, fromFile: FlotillaConfig): HotReloadPlan {
  const differing = diffConfig(running, fromFile);
  const changed = differing.filter((path) => isHotReloadable(path));
  const restartRequired = differing.filter((path) => !isHotReloadable(path));
  const next = structuredClone(running) as unknown as Record<string, unknown>;
  for (const path of changed) setAt(next, path, configValueAt(fromFile, path));
  return { next: deepFreeze(next as unknown as FlotillaConfig), changed, restartRequired };
}
