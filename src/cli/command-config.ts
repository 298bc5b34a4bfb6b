/**
 * What every long-running command (`run`, `agent`) does before it starts:
 * check `--log-level` and `--log-format`, find and load the config file (an
 * invalid one is one line per problem, exit 2), and settle the log level and
 * format. One place, so both commands answer a bad flag or file in the same
 * words.
 */
import { existsSync } from 'node:fs';
import type { LevelWithSilent } from 'pino';
import { ConfigError, configPathFromArgs, loadConfig } from '../config/index.ts';
import { DEFAULT_CONFIG_PATH, type FlotillaConfig } from '../config/schema.ts';
import { LOG_FORMATS, type LogFormat } from '../observability/logger.ts';
import { UsageError } from './args.ts';
import { packagePath } from './paths.ts';

export const LOG_LEVELS: readonly LevelWithSilent[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

export interface CommandConfig {
  config: FlotillaConfig;
  configPath: string;
  level: LevelWithSilent;
  format: LogFormat;
}

/** The log settings given on the command line (flags), before the environment and the config file. */
export interface LogFlags {
  level?: string | undefined;
  format?: string | undefined;
}

/**
 * The config and log level for `command`, or `undefined` after printing why
 * the config file cannot be used (the caller exits 2). A bad `--log-level`,
 * `--log-format`, `FLOTILLA_LOG_LEVEL` or `FLOTILLA_LOG_FORMAT` throws a UsageError.
 */
export async function loadCommandConfig(
  command: string,
  argv: string[],
  flags: LogFlags,
  env: NodeJS.ProcessEnv,
): Promise<CommandConfig | undefined> {
  checkLogFlags(flags);
  const levelFlag = flags.level;
  const configPath = resolveConfigPath(command, argv, env);
  let config: FlotillaConfig;
  try {
    config = await loadConfig(configPath);
  } catch (err) {
    console.error(err instanceof ConfigError ? err.message : `Cannot read config ${configPath}: ${(err as Error).message}`);
    return undefined;
  }
  const level = (levelFlag ?? (env.FLOTILLA_LOG_LEVEL || undefined) ?? config.log.level) as LevelWithSilent;
  if (!LOG_LEVELS.includes(level)) throw new UsageError(`FLOTILLA_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, not "${level}".`);
  const format = (flags.format ?? (env.FLOTILLA_LOG_FORMAT || undefined) ?? config.log.format) as LogFormat;
  if (!LOG_FORMATS.includes(format)) throw new UsageError(`FLOTILLA_LOG_FORMAT must be one of ${LOG_FORMATS.join(', ')}, not "${format}".`);
  return { config, configPath, level, format };
}

/** A bad `--log-level` or `--log-format` is a UsageError; commands check them before anything else. */
export function checkLogFlags(flags: LogFlags): void {
  if (flags.level !== undefined && !LOG_LEVELS.includes(flags.level as LevelWithSilent)) {
    throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, not "${flags.level}".`);
  }
  if (flags.format !== undefined && !LOG_FORMATS.includes(flags.format as LogFormat)) {
    throw new UsageError(`--log-format must be one of ${LOG_FORMATS.join(', ')}, not "${flags.format}".`);
  }
}

/**
 * `--config`, else `FLOTILLA_CONFIG`, else `config/flotilla.yaml` in the
 * working directory; when that default does not exist there (the CLI run
 * from elsewhere), the copy shipped with the package.
 */
function resolveConfigPath(command: string, argv: string[], env: NodeJS.ProcessEnv): string {
  let path: string;
  try {
    path = configPathFromArgs(argv, env);
  } catch (err) {
    throw new UsageError(`${(err as Error).message}; run \`flotilla ${command} --help\` for usage.`);
  }
  if (path === DEFAULT_CONFIG_PATH && !existsSync(path)) {
    const shipped = packagePath(DEFAULT_CONFIG_PATH);
    if (existsSync(shipped)) return shipped;
  }
  return path;
}
