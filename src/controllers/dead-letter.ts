import { ConditionType, Kind } from '../api/constants.ts';
import type { Condition } from '../api/condition.ts';
import { setConditions } from '../placement/conditions.ts';
import type { DeadLetterHook } from '../runtime/actors/index.ts';
import { TerminalError } from '../runtime/errors.ts';
import type { Store } from '../runtime/informer/store.ts';
import type { KubeObject } from '../runtime/kube/resource.ts';
import type { PlacementContext } from './placement-context.ts';

/** Kinds whose status has `display` (printer columns), where STATUS shows the stalled reason. */
const KINDS_WITH_DISPLAY: ReadonlySet<Kind> = new Set([Kind.Bundle, Kind.Cluster, Kind.ClusterGroup]);

type WithConditions = KubeObject & { status?: { conditions?: Condition[] } & Record<string, unknown> };

/**
 * What a dead-lettered key leaves behind for its owner to see: a `Stalled`
 * condition (kstatus' name) on the object's status and a Warning Event. The
 * status is applied whole, under the controller's field manager, so the
 * reconcile that follows the object's next change drops `Stalled` simply
 * by not including it.
 */
export function recordStalled(ctx: PlacementContext, kind: Kind, store: Store<WithConditions>): DeadLetterHook {
  return async (key, error, details) => {
    const obj = store.get(key);
    if (!obj) return;
    const reason = error instanceof TerminalError ? error.reason : 'ReconcileError';
    const message = `${error instanceof Error ? error.message : String(error)} (after ${details.attempts} attempt(s); retried when the object changes)`;
    await ctx.events.record(obj, 'Warning', reason, message);
    const display = obj.status?.display ?? {};
    const status = {
      ...(obj.status ?? {}),
      conditions: setConditions(obj.status?.conditions, [
        { type: ConditionType.Stalled, status: 'True', reason, message, observedGeneration: obj.metadata.generation },
      ], new Date()),
      // STATUS shows a stalled object's reason first (placement/display-status.ts).
      ...(KINDS_WITH_DISPLAY.has(kind) && typeof display === 'object' ? { display: { ...display, status: reason } } : {}),
    };
    await ctx.writer.applyStatus(kind, { metadata: { name: obj.metadata.name, namespace: obj.metadata.namespace }, status } as KubeObject, 'Stalled', details.signal);
  };
}

/** The conditions a healthy reconcile starts from: without `Stalled`. */
export function withoutStalled<T extends { conditions?: Condition[] } | undefined>(status: T): T {
  if (!status?.conditions?.some((c) => c.type === ConditionType.Stalled)) return status;
  return { ...status, conditions: status.conditions.filter((c) => c.type !== ConditionType.Stalled) };
}
