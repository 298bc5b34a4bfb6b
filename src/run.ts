import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { parseCommandArgs, printError, UsageError, Exit } from './cli/args.ts';
import { loadCommandConfig } from './cli/command-config.ts';
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
  const loaded = await loadCommandConfig('run', argv, values['log-level'], env);
  if (!loaded) return Exit.Usage;
  const { config, configPath, level } = loaded;

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

function defaultKubeconfigPath(env: NodeJS.ProcessEnv): string | undefined {
  const home = env.HOME ?? env.USERPROFILE;
  if (!home) return undefined;
  const path = join(home, '.kube', 'config');
  return existsSync(path) ? path : undefined;
}
