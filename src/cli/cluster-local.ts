/**
 * `flotilla cluster add --run-local`: the agent in this process instead of a
 * Deployment downstream. Split in two so the preparation (the kubeconfig
 * file, the argv) is testable without starting an agent.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

export interface LocalRunPlan {
  kubeconfigPath: string;
  /** What `agentCommand` gets. */
  argv: string[];
}

export function defaultLocalDir(workspace: string, name: string): string {
  return join('.cache', 'agents', `${workspace}-${name}`);
}

/** Writes the agent's upstream kubeconfig (mode 0600) to DIR and returns the agent's argv. */
export async function prepareLocalRun(options: {
  dir: string;
  upstreamKubeconfig: string;
  deploymentNamespace: string;
  downstreamKubeconfig: string;
  downstreamContext?: string | undefined;
  agentNamespace: string;
}): Promise<LocalRunPlan> {
  const dir = resolve(options.dir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const kubeconfigPath = join(dir, 'upstream.kubeconfig');
  await writeFile(kubeconfigPath, options.upstreamKubeconfig, { mode: 0o600 });
  await chmod(kubeconfigPath, 0o600); // writeFile's mode applies only to a new file
  return {
    kubeconfigPath,
    argv: [
      '--upstream-kubeconfig', kubeconfigPath,
      '--namespace', options.deploymentNamespace,
      '--kubeconfig', resolve(options.downstreamKubeconfig),
      ...(options.downstreamContext !== undefined ? ['--context', options.downstreamContext] : []),
      '--agent-namespace', options.agentNamespace,
    ],
  };
}

/** Runs the agent (src/cli/agent.ts) in this process; returns its exit code. */
export async function runAgentLocally(plan: LocalRunPlan): Promise<number> {
  const { agentCommand } = await import('./agent.ts');
  return agentCommand(plan.argv);
}
