/** Turns configuration values that depend on the environment into concrete numbers. */
import { availableParallelism } from 'node:os';
import { DEFAULT_CONFIG_PATH, type ConcurrencyConfig } from './schema.ts';

/**
 * `poolThreads: auto` = cores − 1, at least 1: the main thread (reflectors,
 * actors, HTTP) keeps a core of its own, since offloading exists to keep it
 * responsive.
 */
export function resolvePoolThreads(value: ConcurrencyConfig['poolThreads'], cores: number = availableParallelism()): number {
  return value === 'auto' ? Math.max(1, cores - 1) : value;
}

/**
 * The configuration file path: `--config <path>` or `--config=<path>` on the
 * command line, else `FLOTILLA_CONFIG`, else `config/flotilla.yaml`.
 */
export function configPathFromArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): string {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--config') {
      const value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) throw new RangeError('--config needs a file path');
      return value;
    }
    if (arg?.startsWith('--config=')) {
      const value = arg.slice('--config='.length);
      if (value === '') throw new RangeError('--config needs a file path');
      return value;
    }
  }
  return env.FLOTILLA_CONFIG || DEFAULT_CONFIG_PATH;
}
