import { ConditionReason } from '../api/constants.ts';
import { BundleProblemReason } from './problems.ts';

/**
 * Reasons that mean "the object as written cannot be applied; fix it": the
 * controller reports them on a False condition and an Event and does not
 * retry until the object changes (docs/architecture.md#errors-and-dead-letters). Transient
 * states (waiting for agents, not yet targeted) are not among them.
 */
const invalidReasons: ReadonlySet<string> = new Set<string>([
  ...Object.values(BundleProblemReason),
  ConditionReason.InvalidTargets,
  ConditionReason.InvalidContent,
  ConditionReason.ContentTooLarge,
  'InvalidSelector', // ClusterGroup: spec.selector does not compile
  ConditionReason.NamespaceConflict, // Cluster: its deployment namespace's name is taken
]);

export function isInvalidInputReason(reason: string | undefined): boolean {
  return reason !== undefined && invalidReasons.has(reason);
}
