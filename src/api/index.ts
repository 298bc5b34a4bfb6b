/**
 * The Flotilla API (group flotilla.dev, version v1alpha1): TypeBox schemas,
 * the TypeScript types derived from them, names and helpers.
 */
export * from './constants.ts';
export * from './patterns.ts';
export * from './condition.ts';
export * from './label-selector.ts';
export * from './object-meta.ts';
export * from './bundle-resource.ts';
export * from './deployment-options.ts';
export * from './summary.ts';
export * from './cluster.ts';
export * from './cluster-group.ts';
export * from './bundle.ts';
export * from './bundle-deployment.ts';
export * from './content.ts';
export * from './kinds.ts';
export * from './content-name.ts';
export * from './deployment-id.ts';
export * from './resource-size-policy.ts';
