import { defaultConfigValue } from './fields.ts';
import { deepFreeze } from './freeze.ts';
import type { FlotillaConfig } from './schema.ts';

/** The configuration an empty file yields: every field at its default. Frozen. */
export function defaultConfig(): FlotillaConfig {
  return deepFreeze(defaultConfigValue());
}
