import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import type { LevelWithSilent } from 'pino';
import { parseCommandArgs, printError, UsageError, Exit } from './cli/args.ts';
import { packagePath } from './cli/paths.ts';
import { ConfigError, configPathFromArgs, loadConfig } from './config/index.ts';
import { DEFAULT_CONFIG_PATH, type FlotillaConfig } from './config/schema.ts';
import { createLogger } from './observability/logger.ts';
import { startController } from './start-controller.ts';

export interface RunOptions {
  argv: string[];
  env?: NodeJS.ProcessEnv;
}

export const RUN_OPTIONS = {
  kubeconfig: { type: 'string' },
  config: { type: 'string' },
  'log-level': { type: 'string' },
  local: { type: 'boolean' },
  'no-local': { type: 'boolean' },
  dir: { type: 'string' },
} as const;

const LOG_LEVELS: readonly LevelWithSilent[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/**
 * `flotilla run`: load and validate the config, find the cluster, register
 * the controllers, and run until SIGTERM/SIGINT. Returns only on a start-up
 * error (as an exit code); after start the Lifecycle owns the process exit.
 *
 * The cluster: `--kubeconfig`, else `KUBECONFIG`, else `~/.kube/config`,
 * else the pod's service account. With none of those (or with `--local`)
 * it runs the quick start: a local control plane with the demo workspace.
 */
export async function run({ argv, env = process.env }: RunOptions): Promise<number> {
  try {
    return await runOrThrow(argv, env);
  } catch (error) {
    return printError(error);
  }
}

async function runOrThrow(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values } = parseCommandArgs('run', argv, RUN_OPTIONS);
  if (values.local && values['no-local']) throw new UsageError('--local and --no-local contradict each other; pass one of them.');
  if (values.local && values.kubeconfig) throw new UsageError('--local starts its own cluster and cannot be combined with --kubeconfig; pass one of them.');
  const levelFlag = values['log-level'];
  if (levelFlag !== undefined && !LOG_LEVELS.includes(levelFlag as LevelWithSilent)) {
    throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, not "${levelFlag}".`);
  }

  const configPath = resolveConfigPath(argv, env);
  let config: FlotillaConfig;
  try {
    config = await loadConfig(configPath);
  } catch (err) {
    console.error(err instanceof ConfigError ? err.message : `Cannot read config ${configPath}: ${(err as Error).message}`);
    return Exit.Usage;
  }
  const level = (levelFlag ?? env.FLOTILLA_LOG_LEVEL ?? config.log.level) as LevelWithSilent;
  if (!LOG_LEVELS.includes(level)) throw new UsageError(`FLOTILLA_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, not "${level}".`);

  const kubeconfigPath = values.kubeconfig ?? (env.KUBECONFIG || undefined) ?? defaultKubeconfigPath(env);
  const inCluster = !kubeconfigPath && !!env.KUBERNETES_SERVICE_HOST;
  if (values.local || (!kubeconfigPath && !inCluster)) {
    if (values['no-local']) {
      console.error('No cluster configured: pass --kubeconfig FILE, set KUBECONFIG, or run inside a pod (or drop --no-local for the local quick start).');
      return Exit.Usage;
    }
    // Loaded only here: the container image has no local control plane.
    const { localModeUnavailable, runQuickstart } = await import('./quickstart/index.ts');
    const unavailable = await localModeUnavailable();
    if (unavailable) {
      console.error(
        values.local
          ? `The local quick start cannot run: ${unavailable}.`
          : `No cluster configured, and the local quick start cannot run: ${unavailable}. Pass --kubeconfig FILE, set KUBECONFIG, or run inside a pod.`,
      );
      return Exit.Usage;
    }
    return runQuickstart({ config, configPath, level, dir: values.dir });
  }
  if (values.dir !== undefined) {
    throw new UsageError('--dir only applies to the local quick start (--local).');
  }

  const kubeConfig = new KubeConfig();
  try {
    if (kubeconfigPath) kubeConfig.loadFromFile(kubeconfigPath);
    else kubeConfig.loadFromCluster();
  } catch (err) {
    console.error(`Cannot load kubeconfig ${kubeconfigPath ?? '(in-cluster)'}: ${(err as Error).message}`);
    return Exit.Usage;
  }
  if (!kubeConfig.getCurrentCluster()) {
    console.error(`Kubeconfig ${kubeconfigPath ?? '(in-cluster)'} has no current context with a cluster; select one with kubectl config use-context.`);
    return Exit.Usage;
  }
  await startController({ config, configPath, kubeConfig, logger: createLogger({ level }) });
  return Exit.Ok;
}

/**
 * `--config`, else `FLOTILLA_CONFIG`, else `config/flotilla.yaml` in the
 * working directory; when that default does not exist there (the CLI run
 * from elsewhere), the copy shipped with the package.
 */
function resolveConfigPath(argv: string[], env: NodeJS.ProcessEnv): string {
  let path: string;
  try {
    path = configPathFromArgs(argv, env);
  } catch (err) {
    throw new UsageError(`${(err as Error).message}; run \`flotilla run --help\` for usage.`);
  }
  if (path === DEFAULT_CONFIG_PATH && !existsSync(path)) {
    const shipped = packagePath(DEFAULT_CONFIG_PATH);
    if (existsSync(shipped)) return shipped;
  }
  return path;
}

function defaultKubeconfigPath(env: NodeJS.ProcessEnv): string | undefined {
  const home = env.HOME ?? env.USERPROFILE;
  if (!home) return undefined;
  const path = join(home, '.kube', 'config');
  return existsSync(path) ? path : undefined;
}
