#!/usr/bin/env node
/**
 * The `flotilla` command: dispatches to one module per command. Errors a
 * user can fix are one sentence on stderr with exit code 2; nothing here
 * prints a stack trace unless FLOTILLA_DEBUG is set.
 */
import { Exit, printError, UsageError } from './args.ts';
import * as agent from './agent.ts';
import * as apply from './apply.ts';
import * as bench from './bench.ts';
import * as cluster from './cluster.ts';
import * as controlplane from './controlplane.ts';
import * as run from './run.ts';
import * as version from './version.ts';

interface Command {
  summary: string;
  /** Own usage text; commands without one print theirs when given --help. */
  usage?: string;
  main(argv: string[]): Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  run: { summary: run.summary, usage: run.usage, main: run.runCommand },
  agent: { summary: agent.summary, usage: agent.usage, main: (argv) => agent.agentCommand(argv) },
  cluster: { summary: cluster.summary, main: (argv) => cluster.clusterCommand(argv) },
  apply: { summary: apply.summary, usage: apply.usage, main: (argv) => apply.applyCommand(argv) },
  controlplane: { summary: controlplane.summary, main: controlplane.controlplaneCommand },
  bench: { summary: bench.summary, main: bench.benchCommand },
  version: { summary: version.summary, usage: version.usage, main: version.versionCommand },
};

export const USAGE = `Usage: flotilla <command> [options]

Flotilla fans Bundles out to the Clusters their targets select, as
BundleDeployments, in workspace namespaces of a Kubernetes cluster.

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(14)}${c.summary}`)
  .join('\n')}

Run \`flotilla <command> --help\` for a command's options.

Environment:
  KUBECONFIG                  Kubeconfig for \`run\` when --kubeconfig is not given
                              (then ~/.kube/config, then the pod's service account).
  FLOTILLA_UPSTREAM_KUBECONFIG
                              The management cluster for \`agent\` when --upstream-kubeconfig
                              is not given.
  FLOTILLA_CONFIG             Config file when --config is not given.
  FLOTILLA_LOG_LEVEL          Log level when --log-level is not given.
  FLOTILLA_LOG_FORMAT         Log format (json or text) when --log-format is not given.
  FLOTILLA_CACHE_DIR          Where the local control plane's binaries are cached
                              (default \${XDG_CACHE_HOME:-~/.cache}/flotilla).
  FLOTILLA_KUBECTL            The kubectl \`apply\` renders kustomizations with when
                              --kubectl is not given (then kubectl on PATH).
  FLOTILLA_GO, FLOTILLA_OPENSSL
                              The go and openssl binaries the local control plane uses.
  FLOTILLA_DEBUG              Print stack traces with errors.

Exit codes:
  0    Success; after SIGTERM/SIGINT, a complete graceful shutdown.
  1    Unexpected failure; or a shutdown step failed or ran out of time;
       apply: the API server refused the Bundle (apply --diff: changes found).
  2    Usage or configuration error (bad flag, invalid config file, unreadable
       kubeconfig, no cluster and no local quick start); nothing was started.
  70   An error escaped outside any reconcile; the controller shut down gracefully.
  130  A second SIGTERM/SIGINT during shutdown forced an immediate exit.`;

const HELP = new Set(['-h', '--help']);

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || HELP.has(name) || name === 'help') {
    const topic = name === 'help' ? rest[0] : undefined;
    if (topic !== undefined) return main([topic, '--help']);
    console.log(USAGE);
    return name === undefined ? Exit.Usage : Exit.Ok;
  }
  if (name === '--version' || name === '-v') return COMMANDS.version!.main([]);
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) {
    const kind = name.startsWith('-') ? 'option' : 'command';
    throw new UsageError(`Unknown ${kind} "${name}"; expected one of ${Object.keys(COMMANDS).join(', ')} (see \`flotilla --help\`).`);
  }
  if (command.usage && rest.some((a) => HELP.has(a))) {
    console.log(command.usage);
    return Exit.Ok;
  }
  return command.main(rest);
}

try {
  const code = await main(process.argv.slice(2));
  // After `run` starts, its Lifecycle owns the exit; only a non-zero start-up code ends the process here.
  if (code !== 0) process.exitCode = code;
} catch (error) {
  process.exitCode = printError(error);
}

