/**
 * A resource on a downstream cluster, as an agent lists it on a
 * BundleDeployment (not ready, or drifted from its manifest) and as the
 * Bundle summary repeats it.
 */
import Type from 'typebox';
import { Limits } from './constants.ts';
import { DNS1123_SUBDOMAIN_MAX_LENGTH, LABEL_KEY_MAX_LENGTH } from './patterns.ts';

/** A resource on the target cluster, with why it is listed. */
export const ResourceStatus = Type.Object({
  kind: Type.String({ minLength: 1, maxLength: 63 }),
  apiVersion: Type.String({ minLength: 1, maxLength: LABEL_KEY_MAX_LENGTH }),
  namespace: Type.Optional(Type.String({ maxLength: 63 })),
  name: Type.String({ minLength: 1, maxLength: DNS1123_SUBDOMAIN_MAX_LENGTH }),
  message: Type.Optional(Type.String({ maxLength: 1024 })),
});
export type ResourceStatus = Type.Static<typeof ResourceStatus>;

export function ResourceStatusList(description: string) {
  return Type.Array(ResourceStatus, {
    maxItems: Limits.resourceStatusMaxItems,
    description: `${description} (at most ${Limits.resourceStatusMaxItems}).`,
  });
}

