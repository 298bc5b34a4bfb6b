/**
 * From a directory and/or files to a Bundle that is ready to send, with
 * every check that needs no cluster done first: manifests parse and name
 * their objects, flotilla.yaml is valid, no object is declared twice, and
 * the whole fits the size limits. Problems from all the checks are
 * collected and thrown together as one InputError.
 */
import type { Bundle } from '../api/bundle.ts';
import { buildBundle, crossResourceProblems } from './build-bundle.ts';
import { findKubectl, renderKustomization } from './kustomize.ts';
import { checkManifests } from './manifests.ts';
import { InputError, throwIfProblems, type InputProblem } from './problems.ts';
import { loadBundleSettings, type BundleSettings } from './settings.ts';
import { sizeProblems } from './size-limit.ts';
import { duplicateNames, findKustomization, readManifestDirectory, readManifestFiles, type ManifestSource } from './sources.ts';

export interface PrepareOptions {
  name: string;
  namespace: string;
  /** DIR, if given. */
  dir?: string | undefined;
  /** `-f` arguments, in order (`-` is stdin). */
  files?: readonly string[];
  /** `--kubectl`, for a kustomization. */
  kubectl?: string | undefined;
  env?: NodeJS.ProcessEnv;
  readStdin?: () => Promise<string>;
}

export interface PreparedBundle {
  bundle: Bundle;
  sources: readonly ManifestSource[];
  /** The flotilla.yaml read, if any. */
  settingsFile: string | undefined;
  /** The kustomization rendered, if any. */
  kustomization: string | undefined;
  /** Kubernetes objects declared over all resources. */
  objects: number;
}

export async function prepareBundle(options: PrepareOptions): Promise<PreparedBundle> {
  const env = options.env ?? process.env;
  const problems: InputProblem[] = [];
  const sources: ManifestSource[] = [];
  let settings: BundleSettings = {};
  let settingsFile: string | undefined;
  let kustomization: string | undefined;

  // Each step's problems are kept and the next step still runs: one report holds them all.
  const collect = async (step: () => Promise<void>) => {
    try {
      await step();
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      problems.push(...error.problems);
    }
  };
  if (options.dir !== undefined) {
    const dir = options.dir;
    await collect(async () => {
      kustomization = await findKustomization(dir);
      if (kustomization !== undefined) {
        sources.push(...(await renderKustomization(dir, kustomization, findKubectl(options.kubectl, env))));
        return;
      }
      const read = await readManifestDirectory(dir);
      sources.push(...read.sources);
      problems.push(...read.problems);
    });
    await collect(async () => {
      ({ settings, file: settingsFile } = await loadBundleSettings(dir));
    });
  }
  if (options.files !== undefined && options.files.length > 0) {
    const readStdin = options.readStdin ?? (() => Promise.reject(new Error('no stdin')));
    await collect(async () => {
      const read = await readManifestFiles(options.files ?? [], readStdin);
      sources.push(...read.sources);
      problems.push(...read.problems);
    });
  }

  const checked = checkManifests(sources);
  problems.push(...checked.problems, ...duplicateNames(checked.sources));
  throwIfProblems(byFile(problems));
  if (checked.sources.length === 0) {
    throw new InputError([{ file: origin(options), message: 'holds no manifests (.yaml, .yml or .json files declaring Kubernetes objects); a Bundle needs at least one' }]);
  }

  const bundle = buildBundle({ name: options.name, namespace: options.namespace, sources: checked.sources, settings });
  throwIfProblems([...crossResourceProblems(bundle, checked.sources), ...sizeProblems(checked.sources, origin(options))]);
  return { bundle, sources: checked.sources, settingsFile, kustomization, objects: checked.objects };
}

/** Problems grouped by file, in line order within one (stable otherwise). */
function byFile(problems: readonly InputProblem[]): InputProblem[] {
  return [...problems].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : (a.line ?? 0) - (b.line ?? 0)));
}

/** The input as a whole, for problems about all of it. */
function origin(options: PrepareOptions): string {
  if (options.dir !== undefined) return options.dir;
  return (options.files ?? []).map((f) => (f === '-' ? '<stdin>' : f)).join(', ');
}
