/**
 * Content: a content-addressed, immutable copy of a Bundle's manifests,
 * shared by every Bundle with the same resources and by all their
 * BundleDeployments (copying manifests into each BundleDeployment bloats
 * etcd: Fleet #3202, #3482). Cluster-scoped (docs/architecture.md#content).
 */
import Type from 'typebox';
import { Kind } from './constants.ts';
import { BundleResources } from './bundle-resource.ts';
import { Conditions } from './condition.ts';
import { ObjectMeta, TypeMeta } from './object-meta.ts';
import { CONTENT_NAME_PATTERN, SHA256_HEX_PATTERN } from './patterns.ts';

export const ContentSpec = Type.Object(
  {
    sha256: Type.String({
      pattern: SHA256_HEX_PATTERN,
      description: 'SHA-256 of the resources (see contentNameFor); the name is "s-" followed by it.',
    }),
    resources: BundleResources('The manifests, in the Bundle\'s order.'),
  },
  {
    description: 'The manifests. Immutable: different manifests make a different Content.',
    'x-kubernetes-validations': [
      { rule: 'self == oldSelf', message: 'Content spec is immutable; different resources make a new Content' },
    ],
  },
);
export type ContentSpec = Type.Static<typeof ContentSpec>;

export const ContentStatus = Type.Object(
  { conditions: Type.Optional(Conditions()) },
  { description: 'Observed state, written by the controller.' },
);
export type ContentStatus = Type.Static<typeof ContentStatus>;

export const Content = Type.Object(
  {
    ...TypeMeta(Kind.Content),
    metadata: ObjectMeta(Type.String({ pattern: CONTENT_NAME_PATTERN })),
    spec: ContentSpec,
    status: Type.Optional(ContentStatus),
  },
  {
    description: "Content-addressed manifests shared by Bundles and their BundleDeployments.",
    'x-kubernetes-validations': [
      {
        rule: "self.metadata.name == 's-' + self.spec.sha256",
        message: 'metadata.name must be "s-" followed by spec.sha256',
        fieldPath: '.metadata',
      },
    ],
  },
);
export type Content = Type.Static<typeof Content>;
