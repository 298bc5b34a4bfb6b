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
  const kubeconfigPath = values.kubeconfig ?? env.KUBECONFIG;
  try {
    if (kubeconfigPath) kubeConfig.loadFromFile(kubeconfigPath);
    else kubeConfig.loadFromDefault();
  } catch (err) {
    console.error(`cannot load kubeconfig ${kubeconfigPath ?? '(default)'}: ${(err as Error).message}`);
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
