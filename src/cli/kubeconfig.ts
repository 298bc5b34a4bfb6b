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
import { join, relative, resolve, sep } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { UsageError } from './args.ts';

export interface KubeconfigSource {
  /** The file, or undefined for the pod's service account (in-cluster). */
  path: string | undefined;
  /** How it was chosen, for messages: "--kubeconfig", "$KUBECONFIG", "~/.kube/config", "in-cluster". */
  from: string;
}

export interface LoadedKubeconfig extends KubeconfigSource {
  kubeConfig: KubeConfig;
  /** The context in use (undefined in-cluster). */
  context: string | undefined;
  /** The API server URL of that context's cluster. */
  server: string;
}

/**
 * The first of `flag`, `$KUBECONFIG` (its first entry), `~/.kube/config` if
 * it exists; undefined when there is none.
 */
export function findKubeconfig(flag: string | undefined, flagName: string, env: NodeJS.ProcessEnv): KubeconfigSource | undefined {
  if (flag !== undefined) return { path: flag, from: flagName };
  const fromEnv = env.KUBECONFIG?.split(':').find((p) => p !== '');
  if (fromEnv) return { path: fromEnv, from: '$KUBECONFIG' };
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
    return { ...source, kubeConfig, context: undefined, server: kubeConfig.getCurrentCluster()?.server ?? '' };
  }
  const where = `${source.path} (${source.from})`;
  try {
    kubeConfig.loadFromFile(source.path);
  } catch (error) {
    throw new UsageError(`Cannot read the kubeconfig ${where}: ${firstLine(error)}`);
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
  return { ...source, kubeConfig, context: kubeConfig.getCurrentContext(), server: cluster.server };
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
