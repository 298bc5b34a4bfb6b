/**
 * The parts of metav1.ObjectMeta the controller reads and writes. It types
 * objects in TypeScript and lets `Value.Check` validate whole manifests; in
 * the CRD it becomes `{type: object}` because the API server owns metadata
 * validation (a structural schema may not describe `metadata` further).
 */
import Type from 'typebox';
import type { TString } from 'typebox';
import { API_VERSION } from './constants.ts';
import type { Kind } from './constants.ts';
import { DNS1123_LABEL_MAX_LENGTH, DNS1123_LABEL_PATTERN, celString } from './patterns.ts';
import { describe } from './primitives.ts';

/** `apiVersion` and `kind` properties of a Flotilla object of kind `kind`. */
export function TypeMeta<K extends Kind>(kind: K) {
  return {
    apiVersion: Type.Literal(API_VERSION),
    kind: Type.Literal(kind),
  };
}

export const OwnerReference = Type.Object({
  apiVersion: Type.String(),
  kind: Type.String(),
  name: Type.String(),
  uid: Type.String(),
  controller: Type.Optional(Type.Boolean()),
  blockOwnerDeletion: Type.Optional(Type.Boolean()),
});
export type OwnerReference = Type.Static<typeof OwnerReference>;

const StringMap = Type.Record(Type.String(), Type.String());

/** ObjectMeta whose `name` follows `name` (kinds differ in what names they accept). */
export function ObjectMeta<Name extends TString>(name: Name, description?: string) {
  return Type.Object(
    {
      name,
      generateName: Type.Optional(Type.String()),
      namespace: Type.Optional(Type.String()),
      uid: Type.Optional(Type.String()),
      resourceVersion: Type.Optional(Type.String()),
      generation: Type.Optional(Type.Integer({ minimum: 0 })),
      creationTimestamp: Type.Optional(Type.String()),
      deletionTimestamp: Type.Optional(Type.String()),
      deletionGracePeriodSeconds: Type.Optional(Type.Integer()),
      labels: Type.Optional(StringMap),
      annotations: Type.Optional(StringMap),
      finalizers: Type.Optional(Type.Array(Type.String())),
      ownerReferences: Type.Optional(Type.Array(OwnerReference)),
      // Opaque to Flotilla; typed only so that objects read back from the
      // server still pass `Value.Check`.
      managedFields: Type.Optional(Type.Array(Type.Unknown())),
    },
    describe(description),
  );
}


/**
 * Root-level CEL rule for kinds whose names end up as label values on
 * BundleDeployments (Bundle, Cluster): the API server only enforces a DNS
 * subdomain (253 characters), but a label value holds at most 63.
 */
export function labelSafeNameValidation(kind: Kind) {
  return {
    rule: `self.metadata.name.size() <= ${DNS1123_LABEL_MAX_LENGTH} && self.metadata.name.matches(${celString(DNS1123_LABEL_PATTERN)})`,
    message: `metadata.name must be a DNS-1123 label of at most ${DNS1123_LABEL_MAX_LENGTH} characters (lower-case alphanumerics and '-', starting and ending with an alphanumeric): BundleDeployments carry ${kind} names as label values`,
    // The API server only accepts paths into the schema, which ends at `metadata`.
    fieldPath: '.metadata',
    reason: 'FieldValueInvalid',
  };
}
