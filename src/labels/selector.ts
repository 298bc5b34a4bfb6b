/**
 * Kubernetes label selectors (`metav1.LabelSelector`) with the semantics of
 * apimachinery's `LabelSelectorAsSelector` + `labels.Selector`:
 *
 * - an absent selector (`null`/`undefined`) matches nothing;
 * - an empty selector (`{}`, or empty `matchLabels` and `matchExpressions`)
 *   matches everything;
 * - otherwise every `matchLabels` entry (key present with exactly that value)
 *   and every `matchExpressions` requirement must hold (AND);
 * - `In`: key present and its value in the set; `NotIn`: key absent, or its
 *   value not in the set; `Exists`: key present; `DoesNotExist`: key absent.
 *
 * A selector is validated and compiled once into a `CompiledSelector` whose
 * `matches()` is a tight loop over precomputed keys, operator codes and value
 * sets (no allocation, ~0.1 µs), and whose `canonical` string is equal for
 * equal selectors (for hashing and de-duplication).
 */
import { TerminalError } from '../runtime/errors.ts';
import {
  childPath,
  fieldError,
  indexPath,
  labelValueErrors,
  validateLabelKey,
  validateLabels,
  type FieldError,
} from './validation.ts';

/** A label set: label key → value. Values are always strings. */
export type Labels = Readonly<Record<string, string>>;

export const SelectorOperator = {
  In: 'In',
  NotIn: 'NotIn',
  Exists: 'Exists',
  DoesNotExist: 'DoesNotExist',
} as const;
export type SelectorOperator = (typeof SelectorOperator)[keyof typeof SelectorOperator];

const supportedOperators: readonly string[] = Object.values(SelectorOperator);

export interface LabelSelectorRequirement {
  readonly key: string;
  /** One of `SelectorOperator`; typed as string because input comes from JSON and is validated. */
  readonly operator: SelectorOperator | (string & {});
  readonly values?: readonly string[] | null;
}

export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>> | null;
  readonly matchExpressions?: readonly LabelSelectorRequirement[] | null;
}

/** A normalised requirement: `values` sorted and de-duplicated; `matchLabels` entries become `In [v]`. */
export interface Requirement {
  readonly key: string;
  readonly operator: SelectorOperator;
  readonly values: readonly string[];
}

export type SelectorKind = 'everything' | 'nothing' | 'requirements';

/** Canonical form of the absent selector (matches nothing). Not a parseable selector string on purpose. */
export const NOTHING_CANONICAL = '<nothing>';
/** Canonical form of the empty selector (matches everything), as `labels.Everything().String()`. */
export const EVERYTHING_CANONICAL = '';

/**
 * Validates a label selector as apimachinery's `ValidateLabelSelector` does
 * (plus shape checks, since input may be untyped JSON). `path` prefixes every
 * error, e.g. `spec.targets[2].clusterSelector`. An absent selector is valid.
 */
export function validateLabelSelector(selector: unknown, path = ''): FieldError[] {
  if (selector === undefined || selector === null) return [];
  if (typeof selector !== 'object' || Array.isArray(selector)) {
    return [fieldError('Invalid', path, 'must be an object with matchLabels and/or matchExpressions', selector)];
  }
  const sel = selector as { matchLabels?: unknown; matchExpressions?: unknown };
  const errs = validateLabels(sel.matchLabels, childPath(path, 'matchLabels'));
  const exprs = sel.matchExpressions;
  if (exprs === undefined || exprs === null) return errs;
  const exprsPath = childPath(path, 'matchExpressions');
  if (!Array.isArray(exprs)) return [...errs, fieldError('Invalid', exprsPath, 'must be a list of requirements', exprs)];
  exprs.forEach((expr: unknown, i) => errs.push(...validateRequirement(expr, indexPath(exprsPath, i))));
  return errs;
}

function validateRequirement(expr: unknown, path: string): FieldError[] {
  if (typeof expr !== 'object' || expr === null || Array.isArray(expr)) {
    return [fieldError('Invalid', path, 'must be an object with key, operator and values', expr)];
  }
  const { key, operator, values } = expr as { key?: unknown; operator?: unknown; values?: unknown };
  const errs: FieldError[] = [];
  const valuesPath = childPath(path, 'values');
  let valueList: readonly unknown[] = [];
  if (values !== undefined && values !== null) {
    if (Array.isArray(values)) valueList = values;
    else errs.push(fieldError('Invalid', valuesPath, 'must be a list of strings', values));
  }
  switch (operator) {
    case SelectorOperator.In:
    case SelectorOperator.NotIn:
      if (valueList.length === 0) {
        errs.push(fieldError('Required', valuesPath, "must be specified when `operator` is 'In' or 'NotIn'"));
      }
      break;
    case SelectorOperator.Exists:
    case SelectorOperator.DoesNotExist:
      if (valueList.length > 0) {
        errs.push(fieldError('Forbidden', valuesPath, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
      }
      break;
    case undefined:
    case null:
    case '':
      errs.push(fieldError('Required', childPath(path, 'operator'), `must be one of ${quoteList(supportedOperators)}`));
      break;
    default:
      errs.push(
        fieldError('NotSupported', childPath(path, 'operator'), `supported values: ${quoteList(supportedOperators)}`, operator),
      );
  }
  if (key === undefined || key === null || key === '') {
    errs.push(fieldError('Required', childPath(path, 'key'), 'must be a label key'));
  } else {
    errs.push(...validateLabelKey(key, childPath(path, 'key')));
  }
  valueList.forEach((value, i) => {
    const p = indexPath(valuesPath, i);
    if (typeof value !== 'string') errs.push(fieldError('Invalid', p, 'must be a string', value));
    else for (const msg of labelValueErrors(value)) errs.push(fieldError('Invalid', p, msg, value));
  });
  return errs;
}

function quoteList(items: readonly string[]): string {
  return items.map((s) => `"${s}"`).join(', ');
}

/** Thrown by `compileSelector` for an invalid selector; terminal: retrying cannot fix input. */
export class InvalidSelectorError extends TerminalError {
  override name = 'InvalidSelectorError';
  readonly errors: readonly FieldError[];
  constructor(errors: readonly FieldError[]) {
    super('InvalidSelector', errors.map((e) => e.message).join('; '));
    this.errors = errors;
  }
}

// Operator codes for the matcher loop: a switch on small ints beats string compares.
const OP_IN_ONE = 0;
const OP_IN_SET = 1;
const OP_NOTIN_ONE = 2;
const OP_NOTIN_SET = 3;
const OP_EXISTS = 4;
const OP_DOES_NOT_EXIST = 5;

const operatorRank: Record<SelectorOperator, number> = { In: 0, NotIn: 1, Exists: 2, DoesNotExist: 3 };

/**
 * A validated, normalised selector with a fast matcher. Immutable; safe to
 * share. Build with `compileSelector`.
 */
export class CompiledSelector {
  readonly kind: SelectorKind;
  /** Sorted by key, operator, values; duplicates removed. Empty for `everything`/`nothing`. */
  readonly requirements: readonly Requirement[];
  /** Equal for semantically identical selectors written differently (order, duplicates, `matchLabels` vs `In [v]`). */
  readonly canonical: string;
  /** Every key any requirement mentions (sorted, unique): a selector's result depends on these labels only. */
  readonly keys: readonly string[];
  /**
   * The matcher program: triples of (key, operator code, operand), operand
   * being the value (single-value In/NotIn), a Set (several values) or
   * undefined. One flat array rather than parallel arrays or `#private`
   * fields: with 10,000 selectors, evaluation is bound by cache misses, and
   * one object per selector instead of five measured ~1.7x faster (and plain
   * fields read ~2x faster than `#private` ones in the hot loop).
   * @internal
   */
  readonly prog: readonly (string | number | ReadonlySet<string> | undefined)[];

  /** Use `compileSelector`; this trusts `requirements` to be valid and normalised. */
  constructor(kind: SelectorKind, requirements: readonly Requirement[]) {
    this.kind = kind;
    this.requirements = requirements;
    const prog: (string | number | ReadonlySet<string> | undefined)[] = [];
    for (const r of requirements) {
      const single = r.values.length === 1;
      const op =
        r.operator === 'In' ? (single ? OP_IN_ONE : OP_IN_SET)
        : r.operator === 'NotIn' ? (single ? OP_NOTIN_ONE : OP_NOTIN_SET)
        : r.operator === 'Exists' ? OP_EXISTS
        : OP_DOES_NOT_EXIST;
      prog.push(r.key, op, single ? r.values[0] : r.values.length > 0 ? new Set(r.values) : undefined);
    }
    this.prog = prog;
    this.keys = [...new Set(requirements.map((r) => r.key))];
    this.canonical =
      kind === 'nothing' ? NOTHING_CANONICAL
      : kind === 'everything' ? EVERYTHING_CANONICAL
      : requirements.map(renderRequirement).join(',');
  }

  /**
   * Whether `labels` satisfies the selector. A label is present when its
   * value is a string: `labels[key]` of a missing key is `undefined` (or an
   * inherited `Object.prototype` member, never a string), so this needs no
   * `hasOwn` call and accepts plain or null-prototype objects.
   */
  matches(labels: Labels): boolean {
    const p = this.prog;
    const n = p.length;
    if (n === 0) return this.kind === 'everything';
    for (let i = 0; i < n; i += 3) {
      const v = labels[p[i] as string];
      switch (p[i + 1]) {
        case OP_IN_ONE: // the operand is a string, so equality also proves presence
          if (v !== p[i + 2]) return false;
          break;
        case OP_IN_SET:
          if (typeof v !== 'string' || !(p[i + 2] as ReadonlySet<string>).has(v)) return false;
          break;
        case OP_NOTIN_ONE:
          if (v === p[i + 2]) return false;
          break;
        case OP_NOTIN_SET:
          if (typeof v === 'string' && (p[i + 2] as ReadonlySet<string>).has(v)) return false;
          break;
        case OP_EXISTS:
          if (typeof v !== 'string') return false;
          break;
        default: // OP_DOES_NOT_EXIST
          if (typeof v === 'string') return false;
      }
    }
    return true;
  }

  /**
   * The normalised selector as API data (`null` for nothing, `{}` for
   * everything, otherwise `matchExpressions` only). Compiling it yields an
   * equal selector; this is what is shipped to worker replicas.
   */
  toLabelSelector(): LabelSelector | null {
    if (this.kind === 'nothing') return null;
    if (this.kind === 'everything') return {};
    return {
      matchExpressions: this.requirements.map((r) =>
        r.values.length === 0 ? { key: r.key, operator: r.operator } : { key: r.key, operator: r.operator, values: [...r.values] },
      ),
    };
  }

  toString(): string {
    return this.canonical;
  }
}

/**
 * Kubernetes' selector string syntax (what `kubectl get -l` accepts), with
 * single-value sets written as equality so `matchLabels: {a: x}` and
 * `a In [x]` render alike.
 */
function renderRequirement(r: Requirement): string {
  switch (r.operator) {
    case 'In':
      return r.values.length === 1 ? `${r.key}=${r.values[0]}` : `${r.key} in (${r.values.join(',')})`;
    case 'NotIn':
      return r.values.length === 1 ? `${r.key}!=${r.values[0]}` : `${r.key} notin (${r.values.join(',')})`;
    case 'Exists':
      return r.key;
    case 'DoesNotExist':
      return `!${r.key}`;
  }
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareRequirements(a: Requirement, b: Requirement): number {
  return (
    compareStrings(a.key, b.key) ||
    operatorRank[a.operator] - operatorRank[b.operator] ||
    a.values.length - b.values.length ||
    compareStrings(a.values.join('\u0000'), b.values.join('\u0000'))
  );
}

function normaliseValues(values: readonly string[] | null | undefined): string[] {
  if (!values || values.length === 0) return [];
  return [...new Set(values)].sort(compareStrings);
}

/** Sorts and de-duplicates requirements; the single place both compile paths go through. */
function buildCompiled(requirements: Requirement[]): CompiledSelector {
  requirements.sort(compareRequirements);
  const unique: Requirement[] = [];
  for (const r of requirements) {
    const prev = unique[unique.length - 1];
    if (prev && compareRequirements(prev, r) === 0) continue;
    unique.push(r);
  }
  return new CompiledSelector('requirements', unique);
}

const NOTHING = new CompiledSelector('nothing', []);
const EVERYTHING = new CompiledSelector('everything', []);

export interface CompileOptions {
  /** Prefix for field paths in errors, e.g. `spec.targets[2].clusterSelector`. */
  readonly path?: string;
}

export type CompileResult =
  | { readonly ok: true; readonly selector: CompiledSelector }
  | { readonly ok: false; readonly errors: readonly FieldError[] };

/** Validates and compiles; returns the errors instead of throwing. */
export function tryCompileSelector(selector: LabelSelector | null | undefined, options: CompileOptions = {}): CompileResult {
  const errors = validateLabelSelector(selector, options.path ?? '');
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, selector: compileTrustedSelector(selector) };
}

/**
 * Validates and compiles a selector (`LabelSelectorAsSelector`). Throws
 * `InvalidSelectorError` listing every problem with its field path.
 */
export function compileSelector(selector: LabelSelector | null | undefined, options: CompileOptions = {}): CompiledSelector {
  const result = tryCompileSelector(selector, options);
  if (!result.ok) throw new InvalidSelectorError(result.errors);
  return result.selector;
}

/**
 * Compiles a selector already known to be valid (e.g. `toLabelSelector()`
 * output received by a worker replica), skipping validation.
 */
export function compileTrustedSelector(selector: LabelSelector | null | undefined): CompiledSelector {
  if (selector === null || selector === undefined) return NOTHING;
  const matchLabels = selector.matchLabels ?? {};
  const exprs = selector.matchExpressions ?? [];
  const requirements: Requirement[] = [];
  for (const key of Object.keys(matchLabels)) {
    requirements.push({ key, operator: 'In', values: [matchLabels[key] as string] });
  }
  for (const e of exprs) {
    requirements.push({ key: e.key, operator: e.operator as SelectorOperator, values: normaliseValues(e.values) });
  }
  if (requirements.length === 0) return EVERYTHING;
  return buildCompiled(requirements);
}

/** Accepts either form, so APIs can take a pre-compiled selector (compiled once, with the caller's field path). */
export function toCompiledSelector(selector: LabelSelector | CompiledSelector | null | undefined): CompiledSelector {
  return selector instanceof CompiledSelector ? selector : compileSelector(selector);
}

/** One-off convenience; compile once with `compileSelector` when matching repeatedly. */
export function selectorMatches(selector: LabelSelector | null | undefined, labels: Labels): boolean {
  return compileSelector(selector).matches(labels);
}

/** Canonical string of a selector (throws `InvalidSelectorError` if invalid). */
export function canonicalSelector(selector: LabelSelector | null | undefined): string {
  return compileSelector(selector).canonical;
}
