/**
 * The schema of each kind, for code that handles objects generically (the
 * CRD generator, validation of manifests, tests).
 */
import type { Static } from 'typebox';
import { Bundle } from './bundle.ts';
import { BundleDeployment } from './bundle-deployment.ts';
import { Cluster } from './cluster.ts';
import { ClusterGroup } from './cluster-group.ts';
import { GROUP, Plural, VERSION } from './constants.ts';
import type { Kind } from './constants.ts';
import { Content } from './content.ts';

export const KindSchema = {
  Cluster,
  ClusterGroup,
  Bundle,
  BundleDeployment,
  Content,
} as const satisfies Record<Kind, unknown>;

/** The TypeScript type of an object of kind `K`. */
export type ObjectOfKind<K extends Kind> = Static<(typeof KindSchema)[K]>;

export type FlotillaObject = ObjectOfKind<Kind>;

export function isFlotillaKind(kind: unknown): kind is Kind {
  return typeof kind === 'string' && Object.hasOwn(KindSchema, kind);
}

/**
 * Where each kind lives in the API (group, version, plural, scope): the shape
 * API clients use to build request paths.
 */
export interface KindResource<K extends Kind = Kind> {
  group: typeof GROUP;
  version: typeof VERSION;
  kind: K;
  plural: (typeof Plural)[K];
  namespaced: boolean;
}

function kindResource<K extends Kind>(kind: K, namespaced: boolean): KindResource<K> {
  return { group: GROUP, version: VERSION, kind, plural: Plural[kind], namespaced };
}

export const KindResources = {
  Cluster: kindResource('Cluster', true),
  ClusterGroup: kindResource('ClusterGroup', true),
  Bundle: kindResource('Bundle', true),
  BundleDeployment: kindResource('BundleDeployment', true),
  Content: kindResource('Content', false),
} as const satisfies { [K in Kind]: KindResource<K> };
