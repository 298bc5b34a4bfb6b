/**
 * What every long-running command (`run`, `agent`) does before it starts:
 * check `--log-level`, find and load the config file (an invalid one is one
 * line per problem, exit 2), and settle the log level. One place, so both
 * commands answer a bad flag or file in the same words.
 */
import { existsSync } from 'node:fs';
import type { LevelWithSilent } from 'pino';
import { ConfigError, configPathFromArgs, loadConfig } from '../config/index.ts';
import { DEFAULT_CONFIG_PATH, type FlotillaConfig } from '../config/schema.ts';
import { UsageError } from './args.ts';
import { packagePath } from './paths.ts';

export const LOG_LEVELS: readonly LevelWithSilent[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

export interface CommandConfig {
  config: FlotillaConfig;
  configPath: string;
  level: LevelWithSilent;
}

/**
 * The config and log level for `command`, or `undefined` after printing why
 * the config file cannot be used (the caller exits 2). A bad `--log-level`
 * or `FLOTILLA_LOG_LEVEL` throws a UsageError.
 */
export async function loadCommandConfig(
  command: string,
  argv: string[],
  levelFlag: string | undefined,
  env: NodeJS.ProcessEnv,
): Promise<CommandConfig | undefined> {
  if (levelFlag !== undefined && !LOG_LEVELS.includes(levelFlag as LevelWithSilent)) {
    throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, not "${levelFlag}".`);
  }
  const configPath = resolveConfigPath(command, argv, env);
  let config: FlotillaConfig;
  try {
    config = await loadConfig(configPath);
  } catch (err) {
    console.error(err instanceof ConfigError ? err.message : `Cannot read config ${configPath}: ${(err as Error).message}`);
    return undefined;
  }
  const level = (levelFlag ?? env.FLOTILLA_LOG_LEVEL ?? config.log.level) as LevelWithSilent;
  if (!LOG_LEVELS.includes(level)) throw new UsageError(`FLOTILLA_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, not "${level}".`);
  return { config, configPath, level };
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
