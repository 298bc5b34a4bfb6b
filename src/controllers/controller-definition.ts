import type { Kind } from '../api/constants.ts';
import type { ReconcileContext, ReconcileResult } from '../runtime/actors/index.ts';
import type { Store } from '../runtime/informer/store.ts';
import type { KubeObject } from '../runtime/kube/resource.ts';
import type { ControllerDefinition, EventSource } from '../runtime/watches.ts';
import type { FanOutTargets } from './fan-out.ts';
import type { WorkspaceChange } from './workspace-events.ts';

export type Reconcile = (rc: ReconcileContext) => Promise<ReconcileResult | void>;

/**
 * A placement controller as it declares itself. `reportsOn` names the kind
 * whose objects carry the controller's own failures: a forbidden workspace
 * and a dead-lettered key are reported on the object's status and as Events.
 */
export interface PlacementController extends ControllerDefinition<Reconcile> {
  readonly reportsOn?: { readonly kind: Kind; readonly store: Store<KubeObject> };
}

/** Event sources the placement controllers share besides the informers. */
export interface PlacementSources {
  /** Bundles and groups a Cluster change concerns. */
  readonly fanOut: EventSource<FanOutTargets>;
  /** Namespaces onboarded or offboarded. */
  readonly workspaceChanges: EventSource<WorkspaceChange>;
}
