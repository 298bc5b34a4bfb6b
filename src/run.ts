import { parseCommandArgs, printError, UsageError, Exit } from './cli/args.ts';
import { checkLogFlags, loadCommandConfig } from './cli/command-config.ts';
import { describeConnection, findKubeconfig, isInside, loadKubeconfig, type LoadedKubeconfig } from './cli/kubeconfig.ts';
import { packagePath } from './cli/paths.ts';
import { createLogger } from './observability/logger.ts';
import { startController } from './start-controller.ts';

export interface RunOptions {
  argv: string[];
  env?: NodeJS.ProcessEnv;
}

export const RUN_OPTIONS = {
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  config: { type: 'string' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
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
 * else the pod's service account; `--context` picks a context of the file. With none of those (or with `--local`)
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
  if (values.local && values.context) throw new UsageError('--local starts its own cluster and cannot be combined with --context; pass one of them.');
  const logFlags = { level: values['log-level'], format: values['log-format'] };
  checkLogFlags(logFlags);

  // Where it connects comes first, before the config and anything that
  // logs: `npm start` on a machine with a ~/.kube/config attaches to that
  // cluster, and the user must see which one (and how to choose another).
  const source = values.local ? undefined : findKubeconfig(values.kubeconfig, '--kubeconfig', env);
  const inCluster = !values.local && !source && !!env.KUBERNETES_SERVICE_HOST;
  let target: LoadedKubeconfig | undefined;
  if (source || inCluster) {
    if (values.dir !== undefined) throw new UsageError('--dir only applies to the local quick start (--local).');
    target = loadKubeconfig(source ?? { path: undefined, from: 'in-cluster' }, values.context);
    console.error(connectingLine(target));
  } else if (values.context !== undefined) {
    throw new UsageError(`--context ${values.context} needs a kubeconfig, and none was found (no --kubeconfig, $KUBECONFIG or ~/.kube/config).`);
  } else if (values['no-local']) {
    console.error('No cluster configured: pass --kubeconfig FILE, set KUBECONFIG, or run inside a pod (or drop --no-local for the local quick start).');
    return Exit.Usage;
  } else {
    console.error(
      values.local
        ? 'Running the local quick start (--local): local control planes under .cache/quickstart, not any configured cluster.'
        : 'No cluster configured (no --kubeconfig, $KUBECONFIG or ~/.kube/config): running the local quick start. For a real cluster pass --kubeconfig FILE [--context NAME] or set KUBECONFIG.',
    );
  }

  const loaded = await loadCommandConfig('run', argv, logFlags, env);
  if (!loaded) return Exit.Usage;
  const { config, configPath, level, format } = loaded;

  if (!target) {
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
    return runQuickstart({ config, configPath, level, format, dir: values.dir });
  }
  await startController({ config, configPath, kubeConfig: target.kubeConfig, logger: createLogger({ level, format }) });
  return Exit.Ok;
}

/**
 * The first line `run` prints against a cluster: which one, whether it is
 * the quick start's local management cluster or another, and how to pick
 * something else.
 */
export function connectingLine(target: LoadedKubeconfig): string {
  const quickstart = target.path !== undefined && isInside(target.path, packagePath('.cache/quickstart'));
  const what = quickstart ? "the quick start's local management cluster" : target.path === undefined ? 'the cluster this pod runs in' : 'an existing cluster, not the local quick start';
  const other = quickstart
    ? 'pass --kubeconfig FILE [--context NAME] for a real cluster'
    : target.path === undefined
      ? 'pass --kubeconfig FILE for another cluster'
      : `pass --context NAME for another context of that kubeconfig, --kubeconfig FILE for another file, or --local for the local quick start`;
  return `Connecting to ${describeConnection(target)}: ${what}. To use another, ${other}.`;
}
