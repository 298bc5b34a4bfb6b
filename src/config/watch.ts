/**
 * Hot reload of the configuration file.
 *
 * A ConfigMap mounted as a volume is not updated in place: the kubelet
 * writes the new content into a fresh timestamped directory and atomically
 * renames a `..data_tmp` symlink over `..data`; `flotilla.yaml` itself is a
 * symlink to `..data/flotilla.yaml` and its inode never changes. A watch on
 * the file therefore sees nothing. So we watch the *directory* (any event
 * there may mean new content), debounce the burst of events a swap or an
 * editor's save produces, and decide by the SHA-256 of the content read
 * through the symlinks: events without a content change cost one small
 * read. A slow poll backs the watch up on file systems where inotify events
 * do not arrive (NFS, some overlay setups). (A ConfigMap mounted with
 * `subPath` is never updated by the kubelet at all; mount the directory.)
 *
 * A reload that fails validation is rejected with a log line naming the
 * problems and the running configuration is kept.
 */
import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readFile, realpath } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Registry } from 'prom-client';
import { ConfigError } from './errors.ts';
import { planHotReload } from './hot-reload.ts';
import { loadConfig, parseConfigText } from './load.ts';
import type { FlotillaConfig } from './schema.ts';
import { componentLogger, silentLogger, type Logger } from '../observability/logger.ts';
import { registeredCounter, registeredGauge } from '../observability/metrics.ts';

export interface ConfigChange {
  previous: FlotillaConfig;
  /** The configuration now in effect (restart-only fields keep their running values). */
  next: FlotillaConfig;
  /** Hot-reloadable fields (dotted paths) whose values changed: apply these. */
  changed: string[];
  /** Fields that changed in the file but need a restart; already logged as a warning. */
  restartRequired: string[];
}

/**
 * What one look at the file concluded:
 * - `applied`: hot-reloadable fields changed and `onChange` was called;
 * - `restart-required`: only restart-only fields changed (warning logged);
 * - `unchanged`: same content, or content that means the same configuration;
 * - `rejected`: the new content is invalid; the running configuration is kept;
 * - `unreadable`: the file could not be read (e.g. mid-way through an editor's save); kept.
 */
export type ReloadOutcome = 'applied' | 'restart-required' | 'unchanged' | 'rejected' | 'unreadable';

export interface ConfigWatcherOptions {
  /** The configuration the process started with; loaded from `path` when omitted. */
  initial?: FlotillaConfig;
  logger?: Logger;
  /** Quiet time after the last file-system event before the file is read (default 250 ms). */
  debounceMs?: number;
  /** Fallback poll interval (default 10 s; 0 disables polling). */
  pollIntervalMs?: number;
  /** Registers `flotilla_config_reloads_total` and `flotilla_config_last_reload_successful`. */
  registry?: Registry;
}

export interface ConfigWatcher {
  /** The configuration in effect. */
  readonly current: FlotillaConfig;
  /** Reads the file now (serialised with event-driven reloads). */
  reload(): Promise<ReloadOutcome>;
  /** Stops watching; pending reloads finish, no `onChange` is called afterwards. */
  close(): void;
}

export type ConfigChangeListener = (change: ConfigChange) => void | Promise<void>;

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function reloadMetrics(registry: Registry | undefined) {
  if (registry === undefined) return undefined;
  return {
    reloads: registeredCounter<'result'>(registry, {
      name: 'flotilla_config_reloads_total',
      help: 'Configuration file changes seen, by result (applied, restart-required, unchanged, rejected, unreadable).',
      labelNames: ['result'],
    }),
    lastSuccessful: registeredGauge(registry, {
      name: 'flotilla_config_last_reload_successful',
      help: 'Whether the last configuration reload attempt succeeded (1) or the file was rejected (0).',
    }),
  };
}

/**
 * Watches `path` and calls `onChange` with each validated change of
 * hot-reloadable fields. Errors thrown by `onChange` are logged, never
 * propagated. Rejects (with a `ConfigError`) only if `initial` is omitted
 * and the file is invalid at start.
 */
export async function watchConfig(
  path: string,
  onChange: ConfigChangeListener,
  options: ConfigWatcherOptions = {},
): Promise<ConfigWatcher> {
  const logger = componentLogger(options.logger ?? silentLogger, 'config-watcher').child({ path });
  const debounceMs = options.debounceMs ?? 250;
  const pollIntervalMs = options.pollIntervalMs ?? 10_000;
  const metrics = reloadMetrics(options.registry);
  const absolutePath = resolve(path);

  let running = options.initial ?? (await loadConfig(path));
  let lastHash: string | undefined;
  let lastUnreadable: string | undefined;
  let closed = false;
  let debounceTimer: NodeJS.Timeout | undefined;
  let chain: Promise<ReloadOutcome> = Promise.resolve('unchanged');
  const watchers = new Map<string, FSWatcher>();

  const count = (outcome: ReloadOutcome): ReloadOutcome => {
    metrics?.reloads.inc({ result: outcome });
    if (outcome === 'rejected') metrics?.lastSuccessful.set(0);
    else if (outcome !== 'unreadable') metrics?.lastSuccessful.set(1);
    return outcome;
  };

  async function check(): Promise<ReloadOutcome> {
    if (closed) return 'unchanged';
    let text: string;
    try {
      text = await readFile(absolutePath, 'utf8');
    } catch (error) {
      const message = (error as Error).message;
      // Log once per distinct failure: the poll would otherwise repeat it every interval.
      if (lastUnreadable !== message) logger.warn({ err: error }, 'cannot read the configuration file; keeping the running configuration');
      lastUnreadable = message;
      return count('unreadable');
    }
    lastUnreadable = undefined;
    const hash = sha256(text);
    if (hash === lastHash) return 'unchanged';
    lastHash = hash;

    let fromFile: FlotillaConfig;
    try {
      fromFile = parseConfigText(text, path);
    } catch (error) {
      const issues = error instanceof ConfigError ? error.issues.map((issue) => issue.message) : [(error as Error).message];
      logger.error(
        { err: error, issues },
        `configuration reload rejected, keeping the running configuration: ${issues.join('; ')}`,
      );
      return count('rejected');
    }

    const plan = planHotReload(running, fromFile);
    if (plan.restartRequired.length > 0) {
      logger.warn(
        { fields: plan.restartRequired },
        `configuration fields changed that only take effect after a restart (still running with the previous values): ${plan.restartRequired.join(', ')}`,
      );
    }
    if (plan.changed.length === 0) return count(plan.restartRequired.length > 0 ? 'restart-required' : 'unchanged');

    const previous = running;
    running = plan.next;
    // The consumer logs "configuration reloaded" once it has applied the change (Manager.applyConfig).
    if (!closed) {
      try {
        await onChange({ previous, next: plan.next, changed: plan.changed, restartRequired: plan.restartRequired });
      } catch (error) {
        logger.error({ err: error, changed: plan.changed }, 'applying the reloaded configuration failed');
      }
    }
    return count('applied');
  }

  // One look at a time: overlapping reads could apply an older content after a newer one.
  function reload(): Promise<ReloadOutcome> {
    chain = chain.then(check).catch((error: unknown) => {
      logger.error({ err: error }, 'configuration reload failed unexpectedly');
      return 'unreadable' as const;
    });
    return chain;
  }

  function scheduleReload(): void {
    if (closed) return;
    clearTimeout(debounceTimer);
    debounceTimer = setTimeout(() => void reload().then(() => ensureWatching()), debounceMs);
    debounceTimer.unref();
  }

  function watchDirectory(directory: string): void {
    if (closed || watchers.has(directory)) return;
    try {
      // Not persistent: watching configuration must never keep the process alive.
      const watcher = watch(directory, { persistent: false }, scheduleReload);
      watcher.on('error', (error) => {
        logger.warn({ err: error, directory }, 'configuration directory watch failed; relying on polling until it can be re-established');
        watcher.close();
        watchers.delete(directory);
      });
      watchers.set(directory, watcher);
    } catch (error) {
      logger.warn({ err: error, directory }, 'cannot watch the configuration directory; relying on polling');
    }
  }

  /**
   * The directory holding the path (where a ConfigMap swaps `..data`) and,
   * when the path is a symlink elsewhere, the directory of its target.
   */
  async function ensureWatching(): Promise<void> {
    const wanted = new Set([dirname(absolutePath)]);
    try {
      wanted.add(dirname(await realpath(absolutePath)));
    } catch {
      // Unresolvable right now (file being replaced): the next event or poll retries.
    }
    // A ConfigMap's target is a timestamped directory that the next swap deletes: drop stale watches.
    for (const [directory, watcher] of watchers) {
      if (!wanted.has(directory)) {
        watcher.close();
        watchers.delete(directory);
      }
    }
    for (const directory of wanted) watchDirectory(directory);
  }

  await ensureWatching();
  const pollTimer =
    pollIntervalMs > 0
      ? setInterval(() => void reload().then(() => ensureWatching()), pollIntervalMs).unref()
      : undefined;
  // Catch a change that landed between loading `initial` and the watch starting.
  await reload();

  return {
    get current() {
      return running;
    },
    reload,
    close() {
      closed = true;
      clearTimeout(debounceTimer);
      clearInterval(pollTimer);
      for (const watcher of watchers.values()) watcher.close();
      watchers.clear();
    },
  };
}
