/**
 * Problems found in a Bundle: what its content or targets get wrong, each
 * with a CamelCase reason (usable as a condition reason), the field it is
 * about, and a message that starts with that field and says what to fix.
 *
 * Problems are values, not exceptions: one bad target or manifest must not
 * hide the others, and the placement controller still applies the parts of
 * a Bundle that are fine (e.g. the other targets).
 */

/** Why a Bundle (or part of it) cannot be applied as written. */
export const BundleProblemReason = {
  /** A manifest does not parse or is not a Kubernetes object with apiVersion, kind and metadata.name. */
  InvalidResources: 'InvalidResources',
  /** Two entries of `spec.resources` share a `name`. */
  DuplicateResourceName: 'DuplicateResourceName',
  /** Two manifests declare the same object (group, kind, namespace, name). */
  ResourceNameCollision: 'ResourceNameCollision',
  /** The manifests do not fit in one object in etcd. */
  BundleTooLarge: 'BundleTooLarge',
  /** A target is malformed (no criterion, invalid selector, invalid name). */
  InvalidTarget: 'InvalidTarget',
  /** A target names a ClusterGroup that does not exist in the Bundle's workspace. */
  ClusterGroupNotFound: 'ClusterGroupNotFound',
  /** A ClusterGroup a target uses has an invalid `spec.selector`, so it has no members. */
  InvalidClusterGroup: 'InvalidClusterGroup',
} as const;
export type BundleProblemReason = (typeof BundleProblemReason)[keyof typeof BundleProblemReason];

export interface BundleProblem {
  readonly reason: BundleProblemReason;
  /** Field path the problem is about, e.g. `spec.targets[1].clusterGroup`. */
  readonly field: string;
  /** Human-readable, starts with `field`, says what is wrong and what to do. */
  readonly message: string;
}

const targetReasons: ReadonlySet<string> = new Set([
  BundleProblemReason.InvalidTarget,
  BundleProblemReason.ClusterGroupNotFound,
  BundleProblemReason.InvalidClusterGroup,
]);

/**
 * Whether a problem concerns targeting (reported on the `Targeted`
 * condition) rather than content (reported on `Ready`: nothing new can be
 * deployed while the content is invalid).
 */
export function isTargetProblem(problem: BundleProblem): boolean {
  return targetReasons.has(problem.reason);
}

export function bundleProblem(reason: BundleProblemReason, field: string, message: string): BundleProblem {
  return { reason, field, message };
}

/** Default bound for a condition message built from problems (metav1.Condition allows 32768). */
export const PROBLEMS_MESSAGE_MAX_LENGTH = 4096;

/**
 * Joins problem messages for a condition, cut at `maxLength` characters on a
 * problem boundary with a count of what was left out, so a Bundle with
 * hundreds of broken manifests still gets a readable, bounded condition.
 */
export function formatProblems(problems: readonly BundleProblem[], maxLength = PROBLEMS_MESSAGE_MAX_LENGTH): string {
  let out = '';
  for (let i = 0; i < problems.length; i++) {
    const message = (problems[i] as BundleProblem).message;
    const next = out === '' ? message : `${out}; ${message}`;
    const rest = problems.length - i - 1;
    // Keep room for the "(and N more)" suffix unless this is the last one.
    const suffixRoom = rest > 0 ? ` (and ${rest} more)`.length : 0;
    if (next.length + suffixRoom > maxLength) {
      const omitted = problems.length - i;
      if (out === '') {
        const suffix = omitted > 1 ? ` (and ${omitted - 1} more)` : '';
        return `${message.slice(0, Math.max(0, maxLength - suffix.length - 1))}…${suffix}`;
      }
      return `${out} (and ${omitted} more)`;
    }
    out = next;
  }
  return out;
}
