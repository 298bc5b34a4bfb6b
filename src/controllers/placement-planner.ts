/**
 * Runs a Bundle's placement + diff (placement/placement-plan.ts) inline on
 * the main thread or in a pool worker against its replica of the placement
 * records (docs/architecture.md#worker-pool). Workspaces with at most
 * `threshold` Clusters are planned inline: below that, a worker round trip
 * costs the main thread more than the plan itself (bench/placement-pool.ts measures
 * the break-even). Both paths run the same function over the same records at
 * the same sequence, so they answer identically.
 */
import type { Counter, Histogram, Registry } from 'prom-client';
import { registeredCounter, registeredHistogram } from '../observability/metrics.ts';
import { planPlacement, placementPlanCost, type PlacementPlan, type PlacementPlanInput } from '../placement/placement-plan.ts';
import type { RecordReader, RunOnReplicaOptions } from '../runtime/pool/index.ts';
import { RecordStore } from '../runtime/pool/record-store.ts';
import type { PlacementContext } from './placement-context.ts';
import { PlacementRecordsFeed, type RecordSink } from './placement-records.ts';

/**
 * Workspace Clusters above which a plan goes to a worker
 * (`concurrency.poolPlacementThreshold`'s default). Measured by
 * bench/placement-pool.ts (2-core VM, Node 24, other work running): a plan
 * costs the main thread ~1.7-2.3 µs per Cluster of the workspace inline
 * (~3.5 µs on the cached objects, as before the plan), and ~45-80 µs plus
 * ~0.06 µs per targeted Cluster pooled (dispatch, receiving the names).
 * Main-thread time breaks even at ~30-50 Clusters; below 100 inline still
 * wins on latency (no round trip) and takes no queue slot, so the default
 * sits there. At 5,000 Clusters: ~12 ms inline vs ~0.3 ms pooled per plan.
 */
export const DEFAULT_PLACEMENT_THRESHOLD = 100;

/** What the planner needs of the selector pool. */
export interface PlacementPool {
  upsertRecord(table: string, key: string, partition: string, value: unknown): boolean;
  removeRecord(table: string, key: string): boolean;
  readonly records: RecordReader;
  runOnReplica<I, O>(options: RunOnReplicaOptions<I>): Promise<O>;
}

const PLAN_MODULE = new URL('../placement/placement-plan.ts', import.meta.url);

export class PlacementPlanner {
  readonly #records: RecordReader;
  readonly #pool: PlacementPool | undefined;
  #threshold: number;
  readonly #plans: Counter<'path'>;
  readonly #mainThread: Histogram;

  constructor(ctx: PlacementContext, options: { pool?: PlacementPool; threshold?: number; registry: Registry }) {
    this.#pool = options.pool;
    this.#threshold = checkThreshold(options.threshold ?? DEFAULT_PLACEMENT_THRESHOLD);
    let sink: RecordSink;
    if (options.pool) {
      const pool = options.pool;
      sink = { upsert: (t, k, p, v) => pool.upsertRecord(t, k, p, v), remove: (t, k) => pool.removeRecord(t, k) };
      this.#records = pool.records;
    } else {
      const store = new RecordStore();
      sink = store;
      this.#records = store;
    }
    new PlacementRecordsFeed(ctx, sink);
    this.#plans = registeredCounter(options.registry, {
      name: 'flotilla_placement_plans_total',
      help: 'Bundle placement + diff computations, by path: inline (main thread) or pooled (a worker, against its replica of the placement records).',
      labelNames: ['path'],
    });
    this.#mainThread = registeredHistogram(options.registry, {
      name: 'flotilla_bundle_placement_main_thread_seconds',
      help: 'Main-thread time of one Bundle reconcile\'s placement step (its synchronous parts): planning (inline) or dispatching the plan and receiving the answer (pooled), plus building the objects to write and the rollout plan.',
      buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
    });
  }

  get threshold(): number {
    return this.#threshold;
  }

  set threshold(value: number) {
    this.#threshold = checkThreshold(value);
  }

  /** Records as the main thread has them (what inline plans read). */
  get records(): RecordReader {
    return this.#records;
  }

  /** Main-thread seconds the caller measured for one reconcile's placement step. */
  observeMainThread(seconds: number): void {
    this.#mainThread.observe(seconds);
  }

  /**
   * The plan for one Bundle. Inline plans are computed before this returns
   * its promise (an async function runs synchronously up to its first await),
   * so callers can time the main thread's part around the call.
   */
  async plan(input: PlacementPlanInput): Promise<PlacementPlan> {
    if (!this.#pool || placementPlanCost(this.#records, input.bundle.namespace) <= this.#threshold) {
      this.#plans.labels('inline').inc();
      return planPlacement(input, this.#records);
    }
    this.#plans.labels('pooled').inc();
    // Any cost above the pool's selector threshold: the pool still answers inline when no worker serves.
    return this.#pool.runOnReplica<PlacementPlanInput, PlacementPlan>({ module: PLAN_MODULE, export: 'planPlacementTask', name: 'placement', input, cost: Number.MAX_SAFE_INTEGER });
  }
}

function checkThreshold(value: number): number {
  if (!(value >= 0)) throw new RangeError(`poolPlacementThreshold must be >= 0, got ${value}`);
  return value;
}

const planners = new WeakMap<PlacementContext, PlacementPlanner>();

/** Makes `planner` the one the Bundle reconcilers on `ctx` use. */
export function registerPlanner(ctx: PlacementContext, planner: PlacementPlanner): void {
  planners.set(ctx, planner);
}

/** The planner registered for `ctx`; without one (unit tests on in-memory caches) an inline planner over its own records. */
export function plannerFor(ctx: PlacementContext): PlacementPlanner {
  let planner = planners.get(ctx);
  if (!planner) planners.set(ctx, (planner = new PlacementPlanner(ctx, { registry: ctx.registry })));
  return planner;
}
