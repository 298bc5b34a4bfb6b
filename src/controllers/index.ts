import type { Manager } from '../runtime/manager.ts';

/**
 * Every controller Flotilla runs, registered on the manager before it
 * starts. The placement controllers (Cluster, ClusterGroup, Bundle,
 * Content) register here.
 */
export function registerControllers(_manager: Manager): void {}
