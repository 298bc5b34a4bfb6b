/**
 * The pure core of the placement controller: targeting, Bundle validation,
 * deployment namespace names, desired BundleDeployments and their diff, and
 * status summaries. No Kubernetes I/O; safe to run in worker threads.
 */
export * from './problems.ts';
export * from './manifests.ts';
export * from './target-criteria.ts';
export * from './targeting.ts';
export * from './target-dependencies.ts';
export * from './bundle-validation.ts';
export * from './deployment-namespace.ts';
export * from './bundle-deployments.ts';
export * from './json-equal.ts';
export * from './deployment-state.ts';
export * from './conditions.ts';
export * from './summary.ts';
export * from './cluster-summary.ts';
