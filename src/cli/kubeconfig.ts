/**
 * Loading a kubeconfig for a command: the file, then the context in it
 * (`--context NAME`, else its current context). One function for every
 * command and every side (`run`; `agent` and `cluster add|remove` downstream
 * and upstream), so a missing file, a context that is not there, or a file
 * with no current context read the same everywhere — naming the file, the
 * flag, and the contexts there are.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join, relative, resolve, sep } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { UsageError } from './args.ts';

export interface KubeconfigSource {
  /** The file, or undefined for the pod's service account (in-cluster). */
  path: string | undefined;
  /**
   * Every file of a `$KUBECONFIG` list that exists, `path` first; they are
   * merged the way kubectl merges them (the first file to name a cluster,
   * user, context or the current context wins).
   */
  merged?: string[];
  /** How it was chosen, for messages: "--kubeconfig", "$KUBECONFIG", "~/.kube/config", "in-cluster". */
  from: string;
}

export interface LoadedKubeconfig extends KubeconfigSource {
  kubeConfig: KubeConfig;
  /** The context in use (undefined in-cluster). */
  context: string | undefined;
  /** The API server URL of that context's cluster. */
  server: string;
  /** The context's namespace, if it sets one (kubectl's default for -n). */
  namespace: string | undefined;
}

/**
 * The first of `flag`, `$KUBECONFIG` (a list, merged as kubectl does),
 * `~/.kube/config` if it exists; undefined when there is none.
 */
export function findKubeconfig(flag: string | undefined, flagName: string, env: NodeJS.ProcessEnv): KubeconfigSource | undefined {
  if (flag !== undefined) return { path: flag, from: flagName };
  const listed = (env.KUBECONFIG ?? '').split(delimiter).filter((p) => p !== '');
  if (listed.length > 0) {
    // kubectl skips entries that do not exist; with none left, the first one's read error says why.
    const present = listed.filter((p) => existsSync(p));
    return present.length > 1 ? { path: present[0], merged: present, from: '$KUBECONFIG' } : { path: present[0] ?? listed[0], from: '$KUBECONFIG' };
  }
  const home = env.HOME || env.USERPROFILE || homedir();
  const fallback = join(home, '.kube', 'config');
  return existsSync(fallback) ? { path: fallback, from: '~/.kube/config' } : undefined;
}

/**
 * Loads `source` and selects `context` (when given) in it. Every problem is
 * a UsageError: a file that cannot be read, a context that is not in it
 * (the message lists the ones that are), no current context.
 */
export function loadKubeconfig(source: KubeconfigSource, context: string | undefined, contextFlag = '--context'): LoadedKubeconfig {
  const kubeConfig = new KubeConfig();
  if (source.path === undefined) {
    if (context !== undefined) throw new UsageError(`${contextFlag} needs a kubeconfig file; in-cluster credentials have no contexts.`);
    try {
      kubeConfig.loadFromCluster();
    } catch (error) {
      throw new UsageError(`Cannot use the pod's service account (in-cluster): ${firstLine(error)}`);
    }
    return { ...source, kubeConfig, context: undefined, server: kubeConfig.getCurrentCluster()?.server ?? '', namespace: undefined };
  }
  const files = source.merged ?? [source.path];
  const where = `${files.join(delimiter)} (${source.from})`;
  for (const file of files) {
    const one = new KubeConfig();
    try {
      one.loadFromFile(file);
    } catch (error) {
      throw new UsageError(`Cannot read the kubeconfig ${file} (${source.from}): ${firstLine(error)}`);
    }
    mergeFirstWins(kubeConfig, one);
  }
  const names = kubeConfig.getContexts().map((c) => c.name);
  const available = names.length > 0 ? `it has: ${names.join(', ')}` : 'it has no contexts';
  if (context !== undefined) {
    if (!names.includes(context)) throw new UsageError(`Context "${context}" (${contextFlag}) is not in the kubeconfig ${where}; ${available}.`);
    kubeConfig.setCurrentContext(context);
  }
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) {
    const current = kubeConfig.getCurrentContext();
    const why = current ? `its current context "${current}" names no cluster in it` : 'it has no current context';
    throw new UsageError(`Cannot use the kubeconfig ${where}: ${why}; pass ${contextFlag} NAME (${available}) or select one with kubectl config use-context.`);
  }
  const namespace = kubeConfig.getContextObject(kubeConfig.currentContext)?.namespace || undefined;
  return { ...source, kubeConfig, context: kubeConfig.getCurrentContext(), server: cluster.server, namespace };
}

/**
 * For one-shot commands that talk to one cluster (`apply`): `--kubeconfig`,
 * `$KUBECONFIG`, `~/.kube/config`, else the pod's service account; with none
 * of them, a UsageError saying what to do.
 */
export function loadCommandKubeconfig(flag: string | undefined, context: string | undefined, env: NodeJS.ProcessEnv = process.env): LoadedKubeconfig {
  const source = findKubeconfig(flag, '--kubeconfig', env);
  if (!source && !env.KUBERNETES_SERVICE_HOST) {
    throw new UsageError('No cluster configured: pass --kubeconfig FILE, set KUBECONFIG, create ~/.kube/config, or run inside a pod.');
  }
  return loadKubeconfig(source ?? { path: undefined, from: 'in-cluster' }, context);
}

/** kubectl's merge of a KUBECONFIG list: the first file to define a name (or the current context) wins. */
function mergeFirstWins(into: KubeConfig, from: KubeConfig): void {
  const has = (list: readonly { name: string }[], name: string) => list.some((entry) => entry.name === name);
  for (const cluster of from.clusters) if (!has(into.clusters, cluster.name)) into.addCluster(cluster);
  for (const user of from.users) if (!has(into.users, user.name)) into.addUser(user);
  for (const context of from.contexts) if (!has(into.contexts, context.name)) into.addContext(context);
  if (!into.currentContext && from.currentContext) into.setCurrentContext(from.currentContext);
}

/** "https://127.0.0.1:6443 (context "kind-dev" of ~/.kube/config)" — for the lines saying where a command connects. */
export function describeConnection(loaded: LoadedKubeconfig): string {
  if (loaded.path === undefined) return `${loaded.server} (in-cluster: the pod's service account)`;
  const file = loaded.from === '~/.kube/config' ? '~/.kube/config' : `${loaded.path}${loaded.from.startsWith('--') ? '' : `, from ${loaded.from}`}`;
  return `${loaded.server} (context "${loaded.context}" of ${file})`;
}

/** Whether `path` lies inside `dir` (e.g. a kubeconfig the quick start wrote). */
export function isInside(path: string, dir: string): boolean {
  const rel = relative(resolve(dir), resolve(path));
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !rel.startsWith(sep);
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}
