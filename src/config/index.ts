/** Flotilla's configuration file: schema, loading, validation and hot reload. */
export {
  FlotillaConfigSchema,
  DEFAULT_CONFIG_PATH,
  DEFAULT_WORKSPACE_LABEL,
  type FlotillaConfig,
  type WorkspacesConfig,
  type WorkspaceMode,
  type ConcurrencyConfig,
  type ApiConfig,
  type BackoffConfig,
  type LeaderElectionConfig,
  type LogLevel,
  type ConfigLabelSelector,
} from './schema.ts';
export { ConfigError, type ConfigIssue } from './errors.ts';
export { validateConfig, parseConfig, type ValidateOptions, type Locator } from './validate.ts';
export { loadConfig, parseConfigText } from './load.ts';
export { defaultConfig } from './defaults.ts';
export { diffConfig } from './diff.ts';
export { HOT_RELOADABLE_FIELDS, isHotReloadable, planHotReload, type HotReloadPlan } from './hot-reload.ts';
export { configLeafFields, type ConfigField } from './fields.ts';
export {
  watchConfig,
  type ConfigChange,
  type ConfigChangeListener,
  type ConfigWatcher,
  type ConfigWatcherOptions,
  type ReloadOutcome,
} from './watch.ts';
export { parseBindAddress, formatHostPort, type BindAddress } from './bind-address.ts';
export { resolvePoolThreads, configPathFromArgs } from './resolve.ts';
