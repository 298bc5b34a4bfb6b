/**
 * `flotilla cluster add|remove`, the implementation (src/cli/cluster.ts has
 * the usage and loads this on use: it pulls in @kubernetes/client-node).
 */
import { existsSync } from 'node:fs';
import { ApiException, KubeConfig } from '@kubernetes/client-node';
import { describeError } from '../controlplane/manifests.ts';
import { manifestsYaml } from '../registration/agent-manifests.ts';
import { installAgent, registerCluster, RegistrationError } from '../registration/cluster-add.ts';
import { removeCluster } from '../registration/cluster-remove.ts';
import { DEFAULT_AGENT_NAMESPACE } from '../registration/names.ts';
import { Exit, parseCommandArgs, UsageError } from './args.ts';
import { defaultLocalDir, prepareLocalRun, runAgentLocally, type LocalRunPlan } from './cluster-local.ts';
import { parseDuration } from './duration.ts';
import { describeConnection, findKubeconfig, loadKubeconfig, type LoadedKubeconfig } from './kubeconfig.ts';
import { packageVersion } from './paths.ts';
import { DEFAULT_TIMEOUT, IMAGE_REPOSITORY } from './cluster.ts';

const COMMON = {
  namespace: { type: 'string', short: 'n' },
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  'upstream-kubeconfig': { type: 'string' },
  'upstream-context': { type: 'string' },
  'agent-namespace': { type: 'string' },
  timeout: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const ADD = {
  ...COMMON,
  labels: { type: 'string' },
  image: { type: 'string' },
  'upstream-server': { type: 'string' },
  print: { type: 'boolean' },
  'run-local': { type: 'boolean' },
  dir: { type: 'string' },
} as const;

export async function runClusterCommand(sub: string, rest: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  try {
    if (sub === 'add') return await add(rest, env);
    if (sub === 'remove') return await remove(rest, env);
  } catch (error) {
    if (error instanceof RegistrationError) {
      console.error(error.message);
      return error.nothingDone ? Exit.Usage : Exit.Failure;
    }
    if (error instanceof ApiException) throw new Error(describeError(error), { cause: error });
    throw error;
  }
  throw new UsageError(`Unknown subcommand "${sub}" for \`flotilla cluster\`; expected add or remove (see \`flotilla cluster --help\`).`);
}

interface Common {
  name: string;
  workspace: string;
  upstream: KubeConfig;
  /** Where `upstream` points, for the first progress line. */
  upstreamConnection: string;
  downstreamPath: string | undefined;
  downstreamContext: string | undefined;
  agentNamespace: string;
  timeoutMs: number;
}

function common(command: string, values: { [K in keyof typeof COMMON]?: string | boolean }, positionals: string[], env: NodeJS.ProcessEnv): Common {
  if (positionals.length !== 1) throw new UsageError(`\`flotilla ${command}\` takes exactly one cluster NAME, got ${positionals.length}; run \`flotilla cluster --help\` for usage.`);
  const name = positionals[0] as string;
  if (!DNS_LABEL.test(name)) throw new UsageError(`Cluster name "${name}" must be a DNS label (lower-case letters, digits and "-", at most 63 characters).`);
  const workspace = values.namespace as string | undefined;
  if (!workspace) throw new UsageError(`\`flotilla ${command}\` needs -n WORKSPACE, the workspace namespace of the Cluster.`);
  const agentNamespace = (values['agent-namespace'] as string | undefined) ?? DEFAULT_AGENT_NAMESPACE;
  if (!DNS_LABEL.test(agentNamespace)) throw new UsageError(`--agent-namespace "${agentNamespace}" must be a DNS label.`);
  const downstreamPath = values.kubeconfig as string | undefined;
  if (downstreamPath !== undefined && !existsSync(downstreamPath)) throw new UsageError(`--kubeconfig ${downstreamPath}: file not found.`);
  const downstreamContext = values.context as string | undefined;
  if (downstreamContext !== undefined && downstreamPath === undefined) throw new UsageError('--context names a context of the downstream kubeconfig: pass --kubeconfig DOWNSTREAM with it.');
  // A context that is not there fails now, before anything is written upstream.
  if (downstreamPath !== undefined && downstreamContext !== undefined) loadDownstream(downstreamPath, downstreamContext);
  const upstream = loadUpstream(values['upstream-kubeconfig'] as string | undefined, values['upstream-context'] as string | undefined, env);
  return {
    name,
    workspace,
    upstream: upstream.kubeConfig,
    upstreamConnection: describeConnection(upstream),
    downstreamPath,
    downstreamContext,
    agentNamespace,
    timeoutMs: parseDuration((values.timeout as string | undefined) ?? DEFAULT_TIMEOUT, '--timeout'),
  };
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function loadUpstream(flag: string | undefined, context: string | undefined, env: NodeJS.ProcessEnv): LoadedKubeconfig {
  const source = findKubeconfig(flag, '--upstream-kubeconfig', env);
  if (!source) throw new UsageError('No management cluster: pass --upstream-kubeconfig FILE or set KUBECONFIG.');
  return loadKubeconfig(source, context, '--upstream-context');
}

function loadDownstream(path: string, context: string | undefined): KubeConfig {
  return loadKubeconfig({ path, from: '--kubeconfig' }, context).kubeConfig;
}

export function parseLabels(text: string | undefined): Record<string, string> {
  const labels: Record<string, string> = {};
  if (text === undefined || text.trim() === '') return labels;
  for (const pair of text.split(',')) {
    const match = /^\s*([A-Za-z0-9][-A-Za-z0-9_./]*)=([-A-Za-z0-9_.]*)\s*$/.exec(pair);
    if (!match) throw new UsageError(`--labels must be key=value pairs separated by commas, not "${pair}".`);
    labels[match[1] as string] = match[2] as string;
  }
  return labels;
}

export function defaultImage(): string {
  return `${IMAGE_REPOSITORY}:${packageVersion()}`;
}

/** Parses and checks `cluster add`'s argv; exported for tests (no cluster needed). */
export function parseAddArgs(argv: string[], env: NodeJS.ProcessEnv = process.env) {
  const { values, positionals } = parseCommandArgs('cluster add', argv, ADD, true);
  const base = common('cluster add', values, positionals, env);
  if (values.print && values['run-local']) throw new UsageError('--print and --run-local exclude each other: print the installation, or run the agent here.');
  if (values.dir !== undefined && !values['run-local']) throw new UsageError('--dir is only for --run-local.');
  if (!values.print && base.downstreamPath === undefined) {
    throw new UsageError('`flotilla cluster add` needs --kubeconfig DOWNSTREAM (the cluster the agent deploys into), or --print to write the installation instead.');
  }
  const upstreamServer = values['upstream-server'];
  if (upstreamServer !== undefined && !/^https?:\/\/\S+$/.test(upstreamServer)) throw new UsageError(`--upstream-server must be a URL such as https://api.example.com:6443, not "${upstreamServer}".`);
  return {
    ...base,
    labels: parseLabels(values.labels),
    image: values.image ?? defaultImage(),
    upstreamServer,
    mode: values.print ? ('print' as const) : values['run-local'] ? ('local' as const) : ('install' as const),
    dir: values.dir ?? defaultLocalDir(base.workspace, base.name),
  };
}

/**
 * `cluster add` up to the point where the agent would start; returns the
 * local-run plan with --run-local (undefined otherwise). Split from add() so
 * tests exercise --run-local without an agent.
 */
export async function prepareAdd(argv: string[], env: NodeJS.ProcessEnv = process.env, out: (line: string) => void = console.log): Promise<LocalRunPlan | undefined> {
  const args = parseAddArgs(argv, env);
  // With --print, stdout is the YAML; progress goes to stderr.
  const log = args.mode === 'print' ? (line: string) => console.error(line) : out;
  log(`management cluster: ${args.upstreamConnection}`);
  const registered = await registerCluster({ ...args, upstreamServer: args.upstreamServer, log });
  let plan: LocalRunPlan | undefined;
  if (args.mode === 'print') {
    process.stdout.write(manifestsYaml(registered.downstreamObjects));
    log(`downstream installation written to stdout (${registered.downstreamObjects.length} objects; it holds the agent's token: keep it secret)`);
  } else if (args.mode === 'install') {
    await installAgent(loadDownstream(args.downstreamPath as string, args.downstreamContext), registered, args.agentNamespace, log);
  } else {
    plan = await prepareLocalRun({
      dir: args.dir,
      upstreamKubeconfig: registered.upstreamKubeconfig,
      deploymentNamespace: registered.deploymentNamespace,
      downstreamKubeconfig: args.downstreamPath as string,
      downstreamContext: args.downstreamContext,
      agentNamespace: args.agentNamespace,
    });
    log(`agent upstream kubeconfig written to ${plan.kubeconfigPath} (mode 0600)`);
  }
  log(`check: kubectl get cluster ${args.name} -n ${args.workspace} (condition AgentConnected)`);
  return plan;
}

async function add(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const plan = await prepareAdd(argv, env);
  if (!plan) return Exit.Ok;
  console.log('starting the agent in this process (Ctrl-C stops it)');
  return runAgentLocally(plan);
}

async function remove(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values, positionals } = parseCommandArgs('cluster remove', argv, COMMON, true);
  const args = common('cluster remove', values, positionals, env);
  const downstream = args.downstreamPath === undefined ? undefined : loadDownstream(args.downstreamPath, args.downstreamContext);
  console.log(`management cluster: ${args.upstreamConnection}`);
  const outcome = await removeCluster({ ...args, ...(downstream ? { downstream } : {}), log: (line) => console.log(line) });
  return outcome.complete ? Exit.Ok : Exit.Failure;
}
