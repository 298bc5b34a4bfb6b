/** `flotilla agent`: deploys the BundleDeployments of one Cluster onto its cluster (src/agent/start-agent.ts). */
import { DEFAULT_AGENT_NAMESPACE } from '../registration/names.ts';
import { createLogger } from '../observability/logger.ts';
import { Exit, parseCommandArgs, printError, UsageError } from './args.ts';
import { checkLogFlags, loadCommandConfig } from './command-config.ts';
import { describeConnection, loadKubeconfig } from './kubeconfig.ts';

export const summary = 'Run the agent of one Cluster: apply its BundleDeployments downstream and report their state';

export const usage = `Usage: flotilla agent --upstream-kubeconfig FILE --namespace NAMESPACE [options]

Runs the agent of one Cluster (normally installed by \`flotilla cluster add\`).
It watches the BundleDeployments of the Cluster's deployment namespace on the
management cluster ("upstream"), applies their manifests to its own cluster
("downstream") with server-side apply, tracked as ApplySets, reports their
state on each BundleDeployment's status, and renews a heartbeat Lease. It runs
until SIGTERM or SIGINT, which shut it down gracefully.

Options:
  --upstream-kubeconfig FILE  The management cluster, with the agent's credentials
                              (default: $FLOTILLA_UPSTREAM_KUBECONFIG).
  --upstream-context NAME     Context of the upstream kubeconfig (default: its current context).
  --namespace NAMESPACE       The Cluster's deployment namespace upstream
                              (kubectl get cluster NAME -n WORKSPACE -o jsonpath='{.status.namespace}').
  --kubeconfig FILE           The downstream cluster (default: $KUBECONFIG, else the
                              pod's service account).
  --context NAME              Context of the downstream kubeconfig (default: its current context).
  --agent-namespace NAME      The agent's namespace downstream, where its leader Lease and the
                              ApplySet parents live (default: ${DEFAULT_AGENT_NAMESPACE}).
  --identity ID               Leader-election and heartbeat identity (default: host name + random).
  --config FILE               Config file (default: $FLOTILLA_CONFIG, else config/flotilla.yaml);
                              the agent reads its \`agent\` section and the runtime settings.
  --log-level LEVEL           trace, debug, info, warn, error, fatal or silent.
  --log-format FORMAT         json (default) or text (default: $FLOTILLA_LOG_FORMAT, else log.format).
  -h, --help                  Show this help.`;

const AGENT_OPTIONS = {
  'upstream-kubeconfig': { type: 'string' },
  'upstream-context': { type: 'string' },
  namespace: { type: 'string' },
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  'agent-namespace': { type: 'string' },
  identity: { type: 'string' },
  config: { type: 'string' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
} as const;

export async function agentCommand(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  try {
    return await agentOrThrow(argv, env);
  } catch (error) {
    return printError(error);
  }
}

async function agentOrThrow(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values } = parseCommandArgs('agent', argv, AGENT_OPTIONS);
  const upstreamPath = values['upstream-kubeconfig'] ?? (env.FLOTILLA_UPSTREAM_KUBECONFIG || undefined);
  if (!upstreamPath) throw new UsageError('--upstream-kubeconfig FILE is required (the management cluster, with the agent\'s credentials).');
  const namespace = values.namespace;
  if (!namespace) throw new UsageError('--namespace NAMESPACE is required (the Cluster\'s deployment namespace on the management cluster).');
  const logFlags = { level: values['log-level'], format: values['log-format'] };
  checkLogFlags(logFlags);
  const upstream = loadKubeconfig({ path: upstreamPath, from: values['upstream-kubeconfig'] ? '--upstream-kubeconfig' : '$FLOTILLA_UPSTREAM_KUBECONFIG' }, values['upstream-context'], '--upstream-context');
  const downstreamPath = values.kubeconfig ?? (env.KUBECONFIG?.split(':').find((p) => p !== '') || undefined);
  if (!downstreamPath && !env.KUBERNETES_SERVICE_HOST) {
    throw new UsageError('No downstream cluster: pass --kubeconfig FILE, set KUBECONFIG, or run inside a pod.');
  }
  const downstream = loadKubeconfig(
    downstreamPath ? { path: downstreamPath, from: values.kubeconfig ? '--kubeconfig' : '$KUBECONFIG' } : { path: undefined, from: 'in-cluster' },
    values.context,
  );
  // First, before any log line: which clusters this agent connects (the same reason as `run`'s line).
  console.error(`Agent of deployment namespace ${namespace}: upstream ${describeConnection(upstream)}, downstream ${describeConnection(downstream)}.`);
  const loaded = await loadCommandConfig('agent', argv, logFlags, env);
  if (!loaded) return Exit.Usage;
  const { config, configPath, level, format } = loaded;

  // Loaded only when an agent runs: `flotilla --help` stays fast.
  const { startAgent } = await import('../agent/start-agent.ts');
  await startAgent({
    config,
    configPath,
    upstream: upstream.kubeConfig,
    downstream: downstream.kubeConfig,
    namespace,
    agentNamespace: values['agent-namespace'] ?? DEFAULT_AGENT_NAMESPACE,
    identity: values.identity,
    // `namespace` in a line is the namespace of what it is about (the agent's own, say): this one has its own key.
    logger: createLogger({ level, format, name: 'flotilla-agent' }).child({ deploymentNamespace: namespace }),
  });
  return Exit.Ok;
}
