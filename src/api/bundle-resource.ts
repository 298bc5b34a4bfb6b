/**
 * A manifest carried by a Bundle and by its Content: a named YAML or JSON
 * document (or multi-document YAML stream). The same item schema is used in
 * both kinds so that a Bundle's resources can be copied verbatim.
 */
import Type from 'typebox';
import { Limits } from './constants.ts';
import { RESOURCE_NAME_MAX_LENGTH, RESOURCE_NAME_PATTERN } from './patterns.ts';

export const BundleResource = Type.Object({
  name: Type.String({
    minLength: 1,
    maxLength: RESOURCE_NAME_MAX_LENGTH,
    pattern: RESOURCE_NAME_PATTERN,
    description:
      'File-like name of the manifest, unique within the list, e.g. deployment.yaml or app/service.yaml.',
  }),
  content: Type.String({
    maxLength: Limits.resourceContentMaxLength,
    description: 'The manifest text: YAML (possibly several documents) or JSON.',
  }),
});
export type BundleResource = Type.Static<typeof BundleResource>;

/**
 * The list of manifests. Keyed by `name`, so names are unique and
 * server-side apply merges per manifest; bounded in count and in total size
 * so that the object stays under etcd's request limit. The schema can only
 * count characters; the admission policy next to the CRDs holds the same
 * figures in bytes (`resource-size-policy.ts` says why it is not a CEL rule
 * here).
 */
export function BundleResources(description: string) {
  return Type.Array(BundleResource, {
    maxItems: Limits.resourcesMaxItems,
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': ['name'],
    'x-kubernetes-validations': [
      {
        rule: `self.map(r, r.content.size()).sum() <= ${Limits.resourcesMaxTotalSize}`,
        message: `the total size of all resources must not exceed ${Limits.resourcesMaxTotalSize} characters (etcd limits objects to about 1.5 MiB)`,
      },
    ],
    description,
  });
}
