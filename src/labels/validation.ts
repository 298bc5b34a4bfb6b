/**
 * Kubernetes label key/value validation, with the same rules (and close to
 * the same wording) as `k8s.io/apimachinery/pkg/util/validation`:
 * `IsQualifiedName` for keys, `IsValidLabelValue` for values and
 * `IsDNS1123Subdomain` for a key's optional prefix. Errors are reported as
 * field errors carrying a path, formatted like `field.Error.Error()` so a
 * message can go straight into a condition:
 * `spec.targets[2].clusterSelector.matchExpressions[0].values: Required value: ...`.
 */

export type FieldErrorType = 'Required' | 'Invalid' | 'Forbidden' | 'NotSupported';

export interface FieldError {
  readonly type: FieldErrorType;
  /** Field path, e.g. `spec.selector.matchExpressions[0].key`. */
  readonly path: string;
  /** The offending value, when there is one (`Invalid`, `NotSupported`). */
  readonly value?: unknown;
  /** What is wrong, without the path (e.g. `must be no more than 63 characters`). */
  readonly detail: string;
  /** Path, type, value and detail in Kubernetes' `field.Error` format. */
  readonly message: string;
}

const typeText: Record<FieldErrorType, string> = {
  Required: 'Required value',
  Invalid: 'Invalid value',
  Forbidden: 'Forbidden',
  NotSupported: 'Unsupported value',
};

function renderValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

export function fieldError(type: FieldErrorType, path: string, detail: string, value?: unknown): FieldError {
  // Required/Forbidden never echo the value (as in apimachinery): there is none, or it must go.
  const showValue = type === 'Invalid' || type === 'NotSupported';
  const head = path === '' ? typeText[type] : `${path}: ${typeText[type]}`;
  const message = showValue ? `${head}: ${renderValue(value)}: ${detail}` : `${head}: ${detail}`;
  return showValue ? { type, path, value, detail, message } : { type, path, detail, message };
}

/** `a.b` / `a[0]` / `a[key]` path building, as `field.Path` renders it. */
export function childPath(path: string, name: string): string {
  return path === '' ? name : `${path}.${name}`;
}
export function indexPath(path: string, index: number): string {
  return `${path}[${index}]`;
}
export function keyPath(path: string, key: string): string {
  return `${path}[${key}]`;
}

export const qualifiedNameMaxLength = 63;
export const labelValueMaxLength = 63;
export const dns1123SubdomainMaxLength = 253;

const qualifiedNameFmt = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const qualifiedNameRegexp = new RegExp(`^${qualifiedNameFmt}$`);
const labelValueFmt = `(${qualifiedNameFmt})?`;
const labelValueRegexp = new RegExp(`^${labelValueFmt}$`);
const dns1123LabelFmt = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const dns1123SubdomainFmt = `${dns1123LabelFmt}(\\.${dns1123LabelFmt})*`;
const dns1123SubdomainRegexp = new RegExp(`^${dns1123SubdomainFmt}$`);

const qualifiedNameErrMsg =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character " +
  `(e.g. 'MyName', or 'my.name', or '123-abc', regex used for validation is '${qualifiedNameFmt}')`;
const labelValueErrMsg =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and " +
  `end with an alphanumeric character (e.g. 'MyValue', or 'my_value', or '12345', regex used for validation is '${labelValueFmt}')`;
const dns1123SubdomainErrMsg =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and " +
  `end with an alphanumeric character (e.g. 'example.com', regex used for validation is '${dns1123SubdomainFmt}')`;

/** `IsDNS1123Subdomain`: problems with `value`, empty when valid. */
export function dns1123SubdomainErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > dns1123SubdomainMaxLength) errs.push(`must be no more than ${dns1123SubdomainMaxLength} characters`);
  if (!dns1123SubdomainRegexp.test(value)) errs.push(dns1123SubdomainErrMsg);
  return errs;
}

/**
 * `IsQualifiedName`: a label key is `[prefix/]name`, where name is at most 63
 * characters of `[A-Za-z0-9_.-]` starting and ending alphanumeric, and the
 * optional prefix is a DNS-1123 subdomain of at most 253 characters.
 */
export function qualifiedNameErrors(value: string): string[] {
  const errs: string[] = [];
  const parts = value.split('/');
  let name: string;
  if (parts.length === 1) {
    name = value;
  } else if (parts.length === 2) {
    const prefix = parts[0] ?? '';
    name = parts[1] ?? '';
    if (prefix.length === 0) errs.push('prefix part must be non-empty');
    else for (const msg of dns1123SubdomainErrors(prefix)) errs.push(`prefix part ${msg}`);
  } else {
    return [
      `a qualified name ${qualifiedNameErrMsg} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ];
  }
  if (name.length === 0) errs.push('name part must be non-empty');
  else if (name.length > qualifiedNameMaxLength) errs.push(`name part must be no more than ${qualifiedNameMaxLength} characters`);
  if (!qualifiedNameRegexp.test(name)) errs.push(`name part ${qualifiedNameErrMsg}`);
  return errs;
}

/** `IsValidLabelValue`: empty is valid; otherwise ≤ 63 characters of the qualified-name alphabet. */
export function labelValueErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > labelValueMaxLength) errs.push(`must be no more than ${labelValueMaxLength} characters`);
  if (!labelValueRegexp.test(value)) errs.push(labelValueErrMsg);
  return errs;
}

/** Field errors for one label key at `path` (apimachinery's `ValidateLabelName`). */
export function validateLabelKey(key: unknown, path: string): FieldError[] {
  if (typeof key !== 'string') return [fieldError('Invalid', path, 'must be a string', key)];
  return qualifiedNameErrors(key).map((msg) => fieldError('Invalid', path, msg, key));
}

/**
 * Field errors for a label map (apimachinery's `ValidateLabels`): key errors
 * are reported at `path` with the key as value, value errors at `path[key]`
 * so the message says which label is wrong.
 */
export function validateLabels(labels: unknown, path: string): FieldError[] {
  if (labels === undefined || labels === null) return [];
  if (typeof labels !== 'object' || Array.isArray(labels)) {
    return [fieldError('Invalid', path, 'must be a map of label keys to string values', labels)];
  }
  const errs: FieldError[] = [];
  for (const [key, value] of Object.entries(labels as Record<string, unknown>)) {
    errs.push(...validateLabelKey(key, path));
    if (typeof value !== 'string') {
      errs.push(fieldError('Invalid', keyPath(path, key), 'must be a string', value));
      continue;
    }
    for (const msg of labelValueErrors(value)) errs.push(fieldError('Invalid', keyPath(path, key), msg, value));
  }
  return errs;
}
