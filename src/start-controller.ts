/**
 * Assembly of the controller: the Manager, the placement controllers, the
 * config watcher and the shutdown order. The `run` command (src/run.ts) and
 * the quick start both start it this way; it parses no flags.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { watchConfig } from './config/index.ts';
import type { FlotillaConfig } from './config/schema.ts';
import { registerControllers } from './controllers/index.ts';
import type { PlacementContext } from './controllers/placement-context.ts';
import type { Logger } from './observability/logger.ts';
import { installForcedGc } from './observability/forced-gc.ts';
import { Lifecycle, type ShutdownStep } from './runtime/lifecycle.ts';
import { Manager } from './runtime/manager.ts';

export interface StartControllerOptions {
  config: FlotillaConfig;
  configPath: string;
  kubeConfig: KubeConfig;
  logger: Logger;
  /** Shutdown steps that run before the controller's own (e.g. stop a progress display). */
  stepsBefore?: Array<[string, ShutdownStep]>;
  /** Shutdown steps that run after the controller has stopped (e.g. stop the local control plane). */
  stepsAfter?: Array<[string, ShutdownStep]>;
}

export interface RunningController {
  manager: Manager;
  placement: PlacementContext;
  lifecycle: Lifecycle;
}

/**
 * The controller, started: what `run` does against any cluster, and what
 * the quick start runs in-process against its local one.
 */
export async function startController(opts: StartControllerOptions): Promise<RunningController> {
  const { config, configPath, logger: log } = opts;
  const manager = new Manager({ config, kubeConfig: opts.kubeConfig, logger: log });
  const lifecycle = new Lifecycle({ timeoutMs: config.shutdown.timeoutSeconds * 1000, logger: log, registry: manager.registry });
  lifecycle.install();
  const placement = registerControllers(manager);
  // Benchmarks only (the process needs --expose-gc): a settled heap reading on SIGUSR2.
  installForcedGc(log);
  const watcher = await watchConfig(configPath, (change) => manager.applyConfig(change), {
    initial: config,
    logger: log,
    registry: manager.registry,
  });
  for (const [name, step] of opts.stepsBefore ?? []) lifecycle.addStep(name, step);
  manager.registerShutdown(lifecycle);
  lifecycle.addStep('stop config watcher', () => watcher.close());
  for (const [name, step] of opts.stepsAfter ?? []) lifecycle.addStep(name, step);
  await manager.start();
  return { manager, placement, lifecycle };
}
