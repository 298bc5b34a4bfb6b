/**
 * The Bundle `flotilla apply` sends: the manifests as `spec.resources`, the
 * settings from flotilla.yaml, and nothing else. Fields left out are fields
 * this apply does not own, so server-side apply removes what an earlier
 * apply set and this one no longer does (a target deleted from
 * flotilla.yaml, a file deleted from DIR), and keeps what others set.
 */
import type { Bundle, BundleSpec } from '../api/bundle.ts';
import { API_VERSION, Kind } from '../api/constants.ts';
import { BundleProblemReason } from '../placement/problems.ts';
import { validateBundleResources } from '../placement/bundle-validation.ts';
import type { InputProblem } from './problems.ts';
import type { BundleSettings } from './settings.ts';
import type { ManifestSource } from './sources.ts';

export interface BundleInput {
  name: string;
  namespace: string;
  sources: readonly ManifestSource[];
  settings: BundleSettings;
}

export function buildBundle(input: BundleInput): Bundle {
  const { labels, annotations, targets, paused, options, rolloutStrategy } = input.settings;
  const spec: BundleSpec = { resources: input.sources.map(({ name, content }) => ({ name, content })) };
  if (targets !== undefined) spec.targets = targets;
  if (paused !== undefined) spec.paused = paused;
  if (options !== undefined) spec.options = options;
  if (rolloutStrategy !== undefined) spec.rolloutStrategy = rolloutStrategy;
  return {
    apiVersion: API_VERSION,
    kind: Kind.Bundle,
    metadata: {
      name: input.name,
      namespace: input.namespace,
      ...(labels !== undefined ? { labels } : {}),
      ...(annotations !== undefined ? { annotations } : {}),
    },
    spec,
  };
}

/**
 * What the controller would refuse in the resources as a whole: two files
 * declaring the same object (which would overwrite each other on every
 * apply), found with the controller's own check and told per file.
 */
export function crossResourceProblems(bundle: Bundle, sources: readonly ManifestSource[]): InputProblem[] {
  const wanted = new Set<string>([BundleProblemReason.ResourceNameCollision, BundleProblemReason.DuplicateResourceName]);
  return validateBundleResources(bundle.spec.resources, { defaultNamespace: bundle.spec.options?.defaultNamespace })
    .filter((problem) => wanted.has(problem.reason))
    .map((problem) => {
      const index = Number(/^spec\.resources\[(\d+)\]/.exec(problem.field)?.[1]);
      const source = sources[index];
      return {
        file: source?.file ?? problem.field,
        message: problem.message.replace(/^spec\.resources\[\d+\]\.(content|name): /, ''),
      };
    });
}
