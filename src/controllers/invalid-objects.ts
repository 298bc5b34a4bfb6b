import { Gauge, type Registry } from 'prom-client';
import { ConditionStatus, ConditionType } from '../api/constants.ts';
import { isInvalidInputReason } from '../placement/invalid-input.ts';
import { findCondition } from '../placement/conditions.ts';
import type { Store } from '../runtime/informer/store.ts';
import type { KubeObject } from '../runtime/kube/resource.ts';

export { isInvalidInputReason };

/** The invalid-input reason an object's status reports, if any (Ready first, then Targeted). */
export function invalidInputReason(obj: KubeObject): string | undefined {
  const conditions = (obj as { status?: { conditions?: Parameters<typeof findCondition>[0] } }).status?.conditions;
  for (const type of [ConditionType.Ready, ConditionType.Targeted]) {
    const condition = findCondition(conditions, type);
    if (condition?.status === ConditionStatus.False && isInvalidInputReason(condition.reason)) return condition.reason;
  }
  return undefined;
}

/**
 * `flotilla_invalid_objects{kind,reason}`: objects parked because their
 * input is invalid, the gauge an operator alerts on (their keys are not
 * dead-lettered in the actor system: their reconcile succeeded in reporting
 * the problem). Counted from the informer caches at scrape time, so it
 * costs nothing between scrapes and cannot drift from the objects.
 */
export function registerInvalidObjectsGauge(registry: Registry, stores: Readonly<Record<string, Store<KubeObject>>>): void {
  if (registry.getSingleMetric('flotilla_invalid_objects')) return;
  new Gauge({
    name: 'flotilla_invalid_objects',
    help: 'Objects whose status reports invalid input (not retried until they change), by kind and reason',
    labelNames: ['kind', 'reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [kind, store] of Object.entries(stores)) {
        for (const obj of store.values()) {
          const reason = invalidInputReason(obj);
          if (reason) this.inc({ kind, reason });
        }
      }
    },
  });
}
