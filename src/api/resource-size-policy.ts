/**
 * The manifest size limits, held in bytes at admission.
 *
 * etcd limits what it stores in bytes, and a manifest of multi-byte text
 * (600,000 × `€` is 1.8 MB) passes any limit counted in characters, which is
 * all the CRD schema can count: OpenAPI `maxLength` counts characters, and a
 * CRD's CEL rule measuring bytes (`size(bytes(...))`) is refused by the API
 * server, whose static cost estimate takes every string at 4 bytes per
 * character of `maxLength` for every one of `maxItems` items (512 × 1 MiB:
 * 21.5 times the per-rule budget, for the per-manifest rule as much as for
 * the total). Without a byte check at admission such a Bundle fails in
 * storage with "etcdserver: request is too large" or a gRPC
 * "ResourceExhausted" that says nothing about which limit or how to fix it.
 *
 * A ValidatingAdmissionPolicy runs the same CEL charged for the actual
 * object instead of an estimate (0.1 per byte converted, so even a request
 * at the API server's 3 MB body limit stays near a third of the 1 M
 * per-expression budget), so the limits hold in bytes whatever the
 * characters, with a message that names the manifest, its size and the
 * limit. It is installed with the CRDs (config/crd). The CRD
 * keeps its character limits (a cheap first line, and documentation in
 * `kubectl explain`), and the controller measures the size as stored
 * (`placement/bundle-validation.ts`), which JSON escaping makes larger.
 *
 * Only writes that change `spec.resources` are checked, as Kubernetes
 * ratchets tightened validation: an object stored before the policy existed
 * may still get its labels and finalizers changed, and so be deleted.
 */
import { GROUP, Limits, Plural } from './constants.ts';
import { celString } from './patterns.ts';

export const RESOURCE_SIZE_POLICY_NAME = `resource-size.${GROUP}`;

interface Validation {
  expression: string;
  message: string;
  messageExpression: string;
  reason: 'Invalid';
}

export interface ValidatingAdmissionPolicy {
  apiVersion: 'admissionregistration.k8s.io/v1';
  kind: 'ValidatingAdmissionPolicy';
  metadata: { name: string };
  spec: {
    failurePolicy: 'Fail';
    matchConstraints: {
      resourceRules: { apiGroups: string[]; apiVersions: string[]; operations: string[]; resources: string[] }[];
    };
    matchConditions: { name: string; expression: string }[];
    variables: { name: string; expression: string }[];
    validations: Validation[];
  };
}

export interface ValidatingAdmissionPolicyBinding {
  apiVersion: 'admissionregistration.k8s.io/v1';
  kind: 'ValidatingAdmissionPolicyBinding';
  metadata: { name: string };
  spec: { policyName: string; validationActions: ['Deny'] };
}

const MANIFEST_MAX = Limits.resourceContentMaxLength;
const TOTAL_MAX = Limits.resourcesMaxTotalSize;
const HOW_TO_FIX = 'split the Bundle into several Bundles, or keep large data (e.g. ConfigMap payloads) out of the manifests';

/** The policy and the binding that makes it deny; pure, fresh objects each call. */
export function buildResourceSizePolicy(): [ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding] {
  const policy: ValidatingAdmissionPolicy = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: { name: RESOURCE_SIZE_POLICY_NAME },
    spec: {
      // An evaluation error must not let an oversized object through to etcd.
      failurePolicy: 'Fail',
      matchConstraints: {
        resourceRules: [
          { apiGroups: [GROUP], apiVersions: ['*'], operations: ['CREATE', 'UPDATE'], resources: [Plural.Bundle, Plural.Content] },
        ],
      },
      matchConditions: [
        {
          name: 'resources-written',
          expression:
            'oldObject == null || !has(oldObject.spec.resources) || !has(object.spec.resources) || oldObject.spec.resources != object.spec.resources',
        },
      ],
      variables: [
        { name: 'resources', expression: 'has(object.spec.resources) ? object.spec.resources : []' },
        { name: 'manifestBytes', expression: 'variables.resources.map(r, size(bytes(r.content)))' },
      ],
      validations: [
        {
          expression: `variables.manifestBytes.all(n, n <= ${MANIFEST_MAX})`,
          message: `spec.resources: a manifest takes more than ${MANIFEST_MAX} bytes (UTF-8), the limit per manifest; ${HOW_TO_FIX}`,
          messageExpression:
            `'spec.resources: ' + variables.resources.filter(r, size(bytes(r.content)) > ${MANIFEST_MAX})` +
            `.map(r, '"' + r.name + '" takes ' + string(size(bytes(r.content))) + ' bytes').join(', ') + ` +
            celString(` (UTF-8), over the limit of ${MANIFEST_MAX} bytes per manifest; ${HOW_TO_FIX}`),
          reason: 'Invalid',
        },
        {
          expression: `variables.manifestBytes.sum() <= ${TOTAL_MAX}`,
          message: `spec.resources: the manifests take more than ${TOTAL_MAX} bytes (UTF-8), the limit for all manifests of one object (etcd stores objects of at most about 1.5 MiB); ${HOW_TO_FIX}`,
          messageExpression:
            `'spec.resources: the manifests take ' + string(variables.manifestBytes.sum()) + ` +
            celString(` bytes (UTF-8), over the limit of ${TOTAL_MAX} bytes for all manifests of one object (etcd stores objects of at most about 1.5 MiB); ${HOW_TO_FIX}`),
          reason: 'Invalid',
        },
      ],
    },
  };
  const binding: ValidatingAdmissionPolicyBinding = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: { name: RESOURCE_SIZE_POLICY_NAME },
    spec: { policyName: RESOURCE_SIZE_POLICY_NAME, validationActions: ['Deny'] },
  };
  return [policy, binding];
}
