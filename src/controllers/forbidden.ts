import type { Gauge } from 'prom-client';
import { registeredGauge } from '../observability/metrics.ts';
import type { Reconcile } from '../runtime/actors/index.ts';
import { ApiError } from '../runtime/errors.ts';
import type { Store } from '../runtime/informer/store.ts';
import { splitKey, type KubeObject } from '../runtime/kube/resource.ts';
import type { PlacementContext } from './placement-context.ts';

/**
 * A workspace the controller matches but may not manage (a 403 from RBAC or
 * an admission policy) must be visible, not silently retried: each key whose
 * reconcile is forbidden gets a Warning Event naming what was denied and what
 * to do, and `flotilla_workspace_forbidden{namespace}` is 1 while any key of
 * that workspace is failing so (0 again once they succeed). The error is
 * rethrown: it stays a transient error with backoff, since access may be
 * granted at any time.
 */
export class ForbiddenReporter {
  readonly #ctx: PlacementContext;
  readonly #gauge: Gauge<'namespace'>;
  readonly #failing = new Map<string, Set<string>>();

  constructor(ctx: PlacementContext) {
    this.#ctx = ctx;
    this.#gauge = registeredGauge(ctx.registry, {
      name: 'flotilla_workspace_forbidden',
      help: 'Whether reconciles in this workspace are currently denied by the API server (403): 1 = some are, 0 = none.',
      labelNames: ['namespace'],
    });
  }

  wrap(kind: string, store: Store<KubeObject>, reconcile: Reconcile): Reconcile {
    return async (rc) => {
      const workspace = splitKey(rc.key).namespace ?? '';
      try {
        const result = await reconcile(rc);
        this.#clear(workspace, rc.key);
        return result;
      } catch (err) {
        if (err instanceof ApiError && err.statusCode === 403) this.#report(kind, workspace, rc.key, store.get(rc.key), err);
        else this.#clear(workspace, rc.key);
        throw err;
      }
    };
  }

  #report(kind: string, workspace: string, key: string, obj: KubeObject | undefined, err: ApiError): void {
    let keys = this.#failing.get(workspace);
    if (!keys) this.#failing.set(workspace, (keys = new Set()));
    const first = keys.size === 0;
    keys.add(key);
    this.#gauge.labels(workspace).set(1);
    const message =
      `Flotilla may not manage ${kind} ${key}: ${err.verb} ${err.resource} was denied (${err.message}). ` +
      'Grant the controller the shipped ClusterRole, or remove the namespace from the workspace set.';
    if (first) this.#ctx.log.error({ workspace, key, verb: err.verb, resource: err.resource }, 'workspace cannot be managed: forbidden');
    if (obj) void this.#ctx.events.record(obj, 'Warning', 'Forbidden', message);
  }

  #clear(workspace: string, key: string): void {
    const keys = this.#failing.get(workspace);
    if (!keys?.delete(key)) return;
    if (keys.size === 0) {
      this.#failing.delete(workspace);
      this.#gauge.labels(workspace).set(0);
      this.#ctx.log.info({ workspace }, 'workspace manageable again');
    }
  }
}
