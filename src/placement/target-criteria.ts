/**
 * Compiles a Bundle's `spec.targets` into matchable criteria, and reports
 * what is wrong with them *without* looking at the workspace (that is
 * `targeting.ts`' job: a missing ClusterGroup is only known there).
 *
 * Input is treated as untyped JSON: the CRD schema rejects most mistakes on
 * write, but objects written under an older CRD version, or read by tools
 * that bypass the API server, must still never make the controller throw.
 *
 * Field semantics follow Fleet's Go types, where a string criterion is "set"
 * when it is non-empty: `clusterName: ""` is the same as no `clusterName`.
 * Selectors are "set" when present and not null; `{}` is set and matches
 * everything (Kubernetes' empty-selector semantics).
 */
import { TARGET_CRITERIA, TARGET_CRITERIA_LIST } from '../api/bundle.ts';
import { DNS1123_LABEL_MAX_LENGTH, DNS1123_LABEL_PATTERN } from '../api/patterns.ts';
import { tryCompileSelector, type CompiledSelector, type LabelSelector } from '../labels/selector.ts';
import { childPath, dns1123SubdomainErrors, fieldError, indexPath, type FieldError } from '../labels/validation.ts';
import { BundleProblemReason, bundleProblem, type BundleProblem } from './problems.ts';

/** The shape of one `spec.targets[]` item as the controller reads it. */
export interface TargetInput {
  readonly name?: string | null;
  readonly clusterSelector?: LabelSelector | null;
  readonly clusterGroup?: string | null;
  readonly clusterGroupSelector?: LabelSelector | null;
  readonly clusterName?: string | null;
  readonly doNotDeploy?: boolean | null;
}

/** One target, compiled. Criteria that are not set are `undefined`. */
export interface TargetCriteria {
  /** Position in `spec.targets`; the first matching target decides. */
  readonly index: number;
  /** `spec.targets[i]`, for messages. */
  readonly field: string;
  readonly name?: string;
  readonly doNotDeploy: boolean;
  readonly clusterName?: string;
  readonly clusterSelector?: CompiledSelector;
  readonly clusterGroup?: string;
  readonly clusterGroupSelector?: CompiledSelector;
  /**
   * True when the target can match no Cluster whatever the workspace holds:
   * it sets no criterion, or one of its criteria is invalid (all criteria
   * must match, and an invalid one matches nothing).
   */
  readonly matchesNothing: boolean;
}

export interface CompiledTargets {
  readonly targets: readonly TargetCriteria[];
  readonly problems: readonly BundleProblem[];
}

export const TARGETS_FIELD = 'spec.targets';

const dnsLabelRegexp = new RegExp(DNS1123_LABEL_PATTERN);

/** Compiles every target of `spec.targets` (absent or null: no targets). */
export function compileTargets(targets: unknown): CompiledTargets {
  if (targets === undefined || targets === null) return { targets: [], problems: [] };
  if (!Array.isArray(targets)) {
    return {
      targets: [],
      problems: [
        bundleProblem(
          BundleProblemReason.InvalidTarget,
          TARGETS_FIELD,
          fieldError('Invalid', TARGETS_FIELD, 'must be a list of targets', targets).message,
        ),
      ],
    };
  }
  const compiled: TargetCriteria[] = [];
  const problems: BundleProblem[] = [];
  targets.forEach((target: unknown, index) => {
    const result = compileTarget(target, index);
    compiled.push(result.criteria);
    problems.push(...result.problems);
  });
  return { targets: compiled, problems };
}

/** Compiles one target; `index` is its position in `spec.targets`. */
export function compileTarget(target: unknown, index: number): { criteria: TargetCriteria; problems: BundleProblem[] } {
  const field = indexPath(TARGETS_FIELD, index);
  const errors: FieldError[] = [];
  if (typeof target !== 'object' || target === null || Array.isArray(target)) {
    errors.push(fieldError('Invalid', field, 'must be an object', target));
    return { criteria: { index, field, doNotDeploy: false, matchesNothing: true }, problems: invalid(errors) };
  }
  const t = target as Record<string, unknown>;

  const name = optionalString(t['name'], childPath(field, 'name'), errors);
  const doNotDeploy = optionalBoolean(t['doNotDeploy'], childPath(field, 'doNotDeploy'), errors) ?? false;

  const clusterNamePath = childPath(field, 'clusterName');
  const clusterName = optionalString(t['clusterName'], clusterNamePath, errors);
  if (clusterName !== undefined && clusterName !== '') {
    if (clusterName.length > DNS1123_LABEL_MAX_LENGTH || !dnsLabelRegexp.test(clusterName)) {
      errors.push(
        fieldError(
          'Invalid',
          clusterNamePath,
          `must be a Cluster name: a DNS-1123 label of at most ${DNS1123_LABEL_MAX_LENGTH} lower-case alphanumerics or '-', starting and ending with an alphanumeric`,
          clusterName,
        ),
      );
    }
  }

  const clusterGroupPath = childPath(field, 'clusterGroup');
  const clusterGroup = optionalString(t['clusterGroup'], clusterGroupPath, errors);
  if (clusterGroup !== undefined && clusterGroup !== '') {
    for (const msg of dns1123SubdomainErrors(clusterGroup)) {
      errors.push(fieldError('Invalid', clusterGroupPath, `must be a ClusterGroup name: ${msg}`, clusterGroup));
    }
  }

  const clusterSelector = optionalSelector(t['clusterSelector'], childPath(field, 'clusterSelector'), errors);
  const clusterGroupSelector = optionalSelector(t['clusterGroupSelector'], childPath(field, 'clusterGroupSelector'), errors);

  const criteria: {
    -readonly [K in keyof TargetCriteria]: TargetCriteria[K];
  } = { index, field, doNotDeploy, matchesNothing: false };
  if (name !== undefined && name !== '') criteria.name = name;
  if (clusterName !== undefined && clusterName !== '') criteria.clusterName = clusterName;
  if (clusterGroup !== undefined && clusterGroup !== '') criteria.clusterGroup = clusterGroup;
  if (clusterSelector !== undefined) criteria.clusterSelector = clusterSelector;
  if (clusterGroupSelector !== undefined) criteria.clusterGroupSelector = clusterGroupSelector;

  const problems = invalid(errors);
  // Judged on the input, not on what compiled: a criterion that is set but
  // invalid is reported for that error, not also as "no criterion".
  const hasCriterion = hasSetCriterion(t);
  if (!hasCriterion) {
    problems.push(
      bundleProblem(
        BundleProblemReason.InvalidTarget,
        field,
        `${field}: the target sets none of ${TARGET_CRITERIA_LIST}, so it matches no Cluster; ` +
          'add one (clusterSelector: {} selects every Cluster of the workspace)',
      ),
    );
  }
  criteria.matchesNothing = errors.length > 0 || !hasCriterion;
  return { criteria, problems };
}

/** Set means present, not null, and (for names) not empty; `{}` is a set selector. */
function hasSetCriterion(t: Record<string, unknown>): boolean {
  return TARGET_CRITERIA.some((field) => t[field] !== undefined && t[field] !== null && t[field] !== '');
}

function invalid(errors: readonly FieldError[]): BundleProblem[] {
  return errors.map((e) => bundleProblem(BundleProblemReason.InvalidTarget, e.path, e.message));
}

function optionalString(value: unknown, path: string, errors: FieldError[]): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    errors.push(fieldError('Invalid', path, 'must be a string', value));
    return undefined;
  }
  return value;
}

function optionalBoolean(value: unknown, path: string, errors: FieldError[]): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') {
    errors.push(fieldError('Invalid', path, 'must be true or false', value));
    return undefined;
  }
  return value;
}

function optionalSelector(value: unknown, path: string, errors: FieldError[]): CompiledSelector | undefined {
  if (value === undefined || value === null) return undefined;
  const result = tryCompileSelector(value as LabelSelector, { path });
  if (!result.ok) {
    errors.push(...result.errors);
    return undefined;
  }
  return result.selector;
}
