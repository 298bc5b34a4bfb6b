/**
 * metav1.Condition, field for field (same limits and patterns as upstream),
 * so status conditions behave like those of built-in kinds: `kubectl wait
 * --for=condition=Ready` works and server-side apply merges them by `type`.
 */
import Type from 'typebox';
import { ConditionStatus, Limits } from './constants.ts';
import {
  CONDITION_REASON_PATTERN,
  CONDITION_TYPE_MAX_LENGTH,
  CONDITION_TYPE_PATTERN,
} from './patterns.ts';
import { StringEnum } from './primitives.ts';

export const Condition = Type.Object({
  type: Type.String({
    description: 'Type of condition in CamelCase, e.g. Ready.',
    maxLength: CONDITION_TYPE_MAX_LENGTH,
    pattern: CONDITION_TYPE_PATTERN,
  }),
  status: StringEnum(Object.values(ConditionStatus), 'True, False or Unknown.'),
  observedGeneration: Type.Optional(
    Type.Integer({
      minimum: 0,
      description: 'The metadata.generation the condition was set from.',
    }),
  ),
  lastTransitionTime: Type.String({
    format: 'date-time',
    description: 'When the condition last changed status.',
  }),
  reason: Type.String({
    minLength: 1,
    maxLength: 1024,
    pattern: CONDITION_REASON_PATTERN,
    description: "Programmatic identifier for the condition's last transition, in CamelCase.",
  }),
  message: Type.String({
    maxLength: 32768,
    description: 'Human-readable details about the transition.',
  }),
});
export type Condition = Type.Static<typeof Condition>;

/** A `conditions` list, keyed by `type` for server-side apply. */
export function Conditions(types?: string) {
  return Type.Array(Condition, {
    maxItems: Limits.conditionsMaxItems,
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': ['type'],
    description: `Latest observations of the object, one per condition type.${types === undefined ? '' : ` ${types}`}`,
  });
}
