import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { ConfigError, configPathFromArgs, loadConfig, watchConfig } from './config/index.ts';
import { registerControllers } from './controllers/index.ts';
import { createLogger } from './observability/logger.ts';
import { Lifecycle } from './runtime/lifecycle.ts';
import { Manager } from './runtime/manager.ts';

export interface RunOptions {
  argv: string[];
  env?: NodeJS.ProcessEnv;
}

/**
 * `flotilla run`: load and validate the config, connect, register the
 * controllers, and run until SIGTERM/SIGINT. Returns only on a start-up
 * error (as an exit code); after start the Lifecycle owns the process exit.
 */
export async function run({ argv, env = process.env }: RunOptions): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      kubeconfig: { type: 'string' },
      config: { type: 'string' },
      'log-level': { type: 'string' },
    },
    strict: true,
  });
  const configPath = configPathFromArgs(argv, env);
  let config;
  try {
    config = await loadConfig(configPath);
  } catch (err) {
    console.error(err instanceof ConfigError ? err.message : `cannot read config ${configPath}: ${(err as Error).message}`);
    return 2;
  }
  const level = (values['log-level'] ?? config.log.level) as typeof config.log.level;
  const log = createLogger({ level });

  const kubeConfig = new KubeConfig();
  const kubeconfigPath = values.kubeconfig ?? (env.KUBECONFIG || undefined) ?? defaultKubeconfigPath(env);
  try {
    if (kubeconfigPath) kubeConfig.loadFromFile(kubeconfigPath);
    else if (env.KUBERNETES_SERVICE_HOST) kubeConfig.loadFromCluster();
    else {
      // client-node would fall back to http://localhost:8080 and the
      // controller would retry it forever: a missing cluster is a
      // configuration error, said once.
      console.error('No cluster configured: pass --kubeconfig FILE, set KUBECONFIG, or run inside a pod.');
      return 2;
    }
  } catch (err) {
    console.error(`Cannot load kubeconfig ${kubeconfigPath ?? '(in-cluster)'}: ${(err as Error).message}`);
    return 2;
  }
  if (!kubeConfig.getCurrentCluster()) {
    console.error(`Kubeconfig ${kubeconfigPath ?? '(in-cluster)'} has no current context with a cluster; select one with kubectl config use-context.`);
    return 2;
  }

  const manager = new Manager({ config, kubeConfig, logger: log });
  const lifecycle = new Lifecycle({ timeoutMs: config.shutdown.timeoutSeconds * 1000, logger: log, registry: manager.registry });
  lifecycle.install();
  registerControllers(manager);
  const watcher = await watchConfig(configPath, (change) => manager.applyConfig(change), {
    initial: config,
    logger: log,
    registry: manager.registry,
  });
  manager.registerShutdown(lifecycle);
  lifecycle.addStep('stop config watcher', () => watcher.close());
  await manager.start();
  return 0;
}

function defaultKubeconfigPath(env: NodeJS.ProcessEnv): string | undefined {
  const home = env.HOME ?? env.USERPROFILE;
  if (!home) return undefined;
  const path = join(home, '.kube', 'config');
  return existsSync(path) ? path : undefined;
}
