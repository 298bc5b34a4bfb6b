/**
 * metav1.LabelSelector with the validation the API server applies to built-in
 * selectors, expressed in the schema so that an invalid selector is rejected
 * on write instead of surfacing later as a reconcile error.
 */
import Type from 'typebox';
import { Limits } from './constants.ts';
import { LABEL_KEY_MAX_LENGTH, LABEL_KEY_PATTERN, celString } from './patterns.ts';
import { LabelKey, LabelValue, StringEnum, describe } from './primitives.ts';

export const LabelSelectorOperator = {
  In: 'In',
  NotIn: 'NotIn',
  Exists: 'Exists',
  DoesNotExist: 'DoesNotExist',
} as const;
export type LabelSelectorOperator = (typeof LabelSelectorOperator)[keyof typeof LabelSelectorOperator];

export const LabelSelectorRequirement = Type.Object(
  {
    key: LabelKey('The label key the requirement applies to.'),
    operator: StringEnum(
      Object.values(LabelSelectorOperator),
      'In, NotIn, Exists or DoesNotExist.',
    ),
    values: Type.Optional(
      Type.Array(LabelValue(), {
        maxItems: Limits.selectorValuesMaxItems,
        description: 'Required and non-empty for In and NotIn; must be empty for Exists and DoesNotExist.',
      }),
    ),
  },
  {
    // Cross-field rules: JSON Schema alone cannot make `values` depend on `operator`.
    'x-kubernetes-validations': [
      {
        rule: "!(self.operator in ['In', 'NotIn']) || (has(self.values) && size(self.values) > 0)",
        message: 'values must be non-empty when operator is In or NotIn',
        fieldPath: '.values',
        reason: 'FieldValueRequired',
      },
      {
        rule: "!(self.operator in ['Exists', 'DoesNotExist']) || !has(self.values) || size(self.values) == 0",
        message: 'values must be empty when operator is Exists or DoesNotExist',
        fieldPath: '.values',
        reason: 'FieldValueForbidden',
      },
    ],
  },
);
export type LabelSelectorRequirement = Type.Static<typeof LabelSelectorRequirement>;

/**
 * A map of label key to label value. `patternProperties` + `additionalProperties:
 * false` make TypeBox check the keys; the CRD generator turns the map into
 * `additionalProperties` (structural schemas have no `patternProperties`) and
 * the CEL rule below checks the keys on the server instead.
 */
export function LabelMap(description?: string) {
  return Type.Record(LabelKey(), LabelValue(), {
    additionalProperties: false,
    maxProperties: Limits.matchLabelsMaxProperties,
    'x-kubernetes-validations': [
      {
        rule: `self.all(k, k.size() <= ${LABEL_KEY_MAX_LENGTH} && k.matches(${celString(LABEL_KEY_PATTERN)}))`,
        message:
          'keys must be label keys: an optional DNS subdomain prefix and "/", then up to 63 alphanumerics, "-", "_" or "." starting and ending with an alphanumeric',
      },
    ],
    ...describe(description),
  });
}

export function LabelSelector(description?: string) {
  return Type.Object(
    {
      matchLabels: Type.Optional(
        LabelMap('Labels that must all be present with these values.'),
      ),
      matchExpressions: Type.Optional(
        Type.Array(LabelSelectorRequirement, {
          maxItems: Limits.matchExpressionsMaxItems,
          description: 'Requirements that must all hold.',
        }),
      ),
    },
    {
      // Like metav1.LabelSelector: server-side apply replaces a selector as a whole.
      'x-kubernetes-map-type': 'atomic',
      ...describe(
        description === undefined
          ? undefined
          : `${description} An empty selector ({}) matches everything.`,
      ),
    },
  );
}
export type LabelSelector = Type.Static<ReturnType<typeof LabelSelector>>;
