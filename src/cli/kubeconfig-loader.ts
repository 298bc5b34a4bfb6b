/**
 * Which cluster a one-shot CLI command talks to, from `--kubeconfig` and
 * `--context` the way kubectl reads them: the flag, else `$KUBECONFIG`
 * (every file of the list, merged, the first to set a value winning), else
 * `~/.kube/config`, else the pod's service account. Kept free of any one
 * command so the others can adopt it.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { UsageError } from './args.ts';

export interface KubeconfigChoice {
  /** `--kubeconfig FILE`. */
  path?: string | undefined;
  /** `--context NAME`: a context of that kubeconfig instead of its current one. */
  context?: string | undefined;
}

export interface LoadedKubeconfig {
  kubeConfig: KubeConfig;
  /** The context's namespace, if it sets one (kubectl's default for -n). */
  namespace: string | undefined;
  /** Where the credentials came from, for messages: a file, or "in-cluster". */
  source: string;
}

/** Loads the kubeconfig a command was pointed at; any problem is a UsageError naming the file. */
export function loadKubeconfig(choice: KubeconfigChoice, env: NodeJS.ProcessEnv = process.env): LoadedKubeconfig {
  const files = kubeconfigFiles(choice.path, env);
  const kc = new KubeConfig();
  if (files.length === 0) {
    if (!env.KUBERNETES_SERVICE_HOST) {
      throw new UsageError('No cluster configured: pass --kubeconfig FILE, set KUBECONFIG, create ~/.kube/config, or run inside a pod.');
    }
    if (choice.context !== undefined) throw new UsageError('--context needs a kubeconfig (--kubeconfig FILE or KUBECONFIG); in a pod there is only the service account.');
    kc.loadFromCluster();
    return { kubeConfig: kc, namespace: undefined, source: 'in-cluster' };
  }
  const source = files.join(delimiter);
  const what = choice.path !== undefined ? '--kubeconfig' : env.KUBECONFIG ? 'KUBECONFIG' : 'default';
  for (const file of files) {
    const one = new KubeConfig();
    try {
      one.loadFromFile(file);
    } catch (error) {
      throw new UsageError(`Cannot read the kubeconfig ${file} (${what}): ${(error as Error).message.split('\n')[0]}`);
    }
    mergeFirstWins(kc, one);
  }
  if (choice.context !== undefined) {
    if (!kc.getContextObject(choice.context)) {
      const known = kc.getContexts().map((c) => c.name);
      throw new UsageError(
        `The kubeconfig ${source} has no context "${choice.context}"${known.length > 0 ? `; its contexts are: ${known.join(', ')}` : ''}.`,
      );
    }
    kc.setCurrentContext(choice.context);
  }
  if (!kc.getCurrentCluster()) {
    throw new UsageError(
      choice.context !== undefined
        ? `The context "${choice.context}" in ${source} names no cluster that the kubeconfig defines.`
        : `The kubeconfig ${source} has no current context with a cluster; pass --context NAME.`,
    );
  }
  const namespace = kc.getContextObject(kc.currentContext)?.namespace || undefined;
  return { kubeConfig: kc, namespace, source };
}

/** kubectl's merge of a KUBECONFIG list: the first file to define a name (or the current context) wins. */
function mergeFirstWins(into: KubeConfig, from: KubeConfig): void {
  const has = (list: readonly { name: string }[], name: string) => list.some((entry) => entry.name === name);
  for (const cluster of from.clusters) if (!has(into.clusters, cluster.name)) into.addCluster(cluster);
  for (const user of from.users) if (!has(into.users, user.name)) into.addUser(user);
  for (const context of from.contexts) if (!has(into.contexts, context.name)) into.addContext(context);
  if (!into.currentContext && from.currentContext) into.setCurrentContext(from.currentContext);
}

function kubeconfigFiles(flag: string | undefined, env: NodeJS.ProcessEnv): string[] {
  if (flag !== undefined) {
    if (!existsSync(flag)) throw new UsageError(`--kubeconfig ${flag}: file not found.`);
    return [flag];
  }
  // kubectl skips entries of KUBECONFIG that do not exist; so do we.
  const listed = (env.KUBECONFIG ?? '').split(delimiter).filter((p) => p !== '');
  if (listed.length > 0) {
    const present = listed.filter((p) => existsSync(p));
    if (present.length === 0) throw new UsageError(`KUBECONFIG names no file that exists (${env.KUBECONFIG}).`);
    return present;
  }
  const home = join(env.HOME ?? homedir(), '.kube', 'config');
  return existsSync(home) ? [home] : [];
}
