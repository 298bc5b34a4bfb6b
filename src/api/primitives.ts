/**
 * Scalar schema builders used across the kinds. Each returns a fresh schema
 * so that a per-use `description` never leaks into another field.
 */
import Type from 'typebox';
import type { TEnum, TEnumValue, TInteger, TString, TUnsafe } from 'typebox';
import {
  DNS1123_LABEL_MAX_LENGTH,
  DNS1123_LABEL_PATTERN,
  DNS1123_SUBDOMAIN_MAX_LENGTH,
  DNS1123_SUBDOMAIN_PATTERN,
  LABEL_KEY_MAX_LENGTH,
  LABEL_KEY_PATTERN,
  LABEL_VALUE_MAX_LENGTH,
  LABEL_VALUE_PATTERN,
  PERCENT_PATTERN,
  celString,
} from './patterns.ts';

/**
 * A string restricted to `values`. Typed `string` explicitly: a structural
 * schema needs a `type` on every node, and the CRD generator relies on it.
 */
export function StringEnum<const Values extends TEnumValue[]>(
  values: readonly [...Values],
  description?: string,
): TEnum<Values> {
  return Type.Enum(values, { type: 'string', ...describe(description) });
}

export function DnsLabel(description?: string): TString {
  return Type.String({
    pattern: DNS1123_LABEL_PATTERN,
    maxLength: DNS1123_LABEL_MAX_LENGTH,
    ...describe(description),
  });
}

export function DnsSubdomain(description?: string): TString {
  return Type.String({
    pattern: DNS1123_SUBDOMAIN_PATTERN,
    maxLength: DNS1123_SUBDOMAIN_MAX_LENGTH,
    ...describe(description),
  });
}

export function LabelKey(description?: string): TString {
  return Type.String({
    minLength: 1,
    maxLength: LABEL_KEY_MAX_LENGTH,
    pattern: LABEL_KEY_PATTERN,
    ...describe(description),
  });
}

export function LabelValue(description?: string): TString {
  return Type.String({
    maxLength: LABEL_VALUE_MAX_LENGTH,
    pattern: LABEL_VALUE_PATTERN,
    ...describe(description),
  });
}

export function NonNegativeInteger(description?: string): TInteger {
  return Type.Integer({ minimum: 0, ...describe(description) });
}

export function ObservedGeneration(): TInteger {
  return NonNegativeInteger('The metadata.generation this status was computed from.');
}

/**
 * A count or a percentage (`3`, `"25%"`), as Kubernetes' IntOrString:
 * `x-kubernetes-int-or-string` in the CRD, where a CEL rule holds the value
 * (a non-negative integer, or 0% to 100%); `anyOf` says the same to
 * TypeBox and is left out of the CRD (structural.ts), whose rule is the
 * check the API server makes.
 */
export function IntOrPercent(description?: string): TUnsafe<number | string> {
  return Type.Unsafe<number | string>({
    'x-kubernetes-int-or-string': true,
    anyOf: [
      { type: 'integer', minimum: 0 },
      { type: 'string', pattern: PERCENT_PATTERN },
    ],
    ...describe(description),
    'x-kubernetes-validations': [
      {
        rule: `type(self) == int ? self >= 0 : self.matches(${celString(PERCENT_PATTERN)})`,
        message: 'must be a non-negative integer or a percentage from 0% to 100% (e.g. 1 or "25%")',
      },
    ],
  });
}

/** `{ description }` when given, `{}` otherwise (keeps the schemas free of `undefined`). */
export function describe(description: string | undefined): { description?: string } {
  return description === undefined ? {} : { description };
}
