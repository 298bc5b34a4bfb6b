/**
 * The agent's reconcile of one BundleDeployment: read its Content, apply it
 * downstream (server-side apply, tracked as an ApplySet), observe what it
 * applied, and report that on the BundleDeployment's status — patched only
 * when it differs from what is stored.
 *
 * What was applied is remembered per BundleDeployment (`AppliedRecord`), so
 * that events from the downstream watches (a member edited, deleted, or its
 * status changed) only re-evaluate drift and readiness; the manifests are
 * re-applied only when the deploymentID changes, an earlier apply left
 * retryable problems, or drift is to be corrected. After a restart the
 * first reconcile of each BundleDeployment applies once more: server-side
 * apply of unchanged objects is idempotent and stores nothing.
 */
import type { BundleDeployment, BundleDeploymentStatus } from '../api/bundle-deployment.ts';
import { KindResources } from '../api/kinds.ts';
import { jsonEqual } from '../placement/json-equal.ts';
import type { ReconcileContext } from '../runtime/actors/types.ts';
import { isNotFound, isServerUnavailable, TransientError } from '../runtime/errors.ts';
import type { ReconnectProbe } from './reconnect.ts';
import { RecentWrites } from '../runtime/recent-writes.ts';
import type { Store } from '../runtime/informer/store.ts';
import type { ObjectWriter } from '../runtime/kube/interfaces.ts';
import { PatchType } from '../runtime/kube/api-types.ts';
import type { KubeObject } from '../runtime/kube/resource.ts';
import type { Applier } from './apply/applier.ts';
import { driftedFields } from './apply/drift.ts';
import { resourceReadiness } from './apply/readiness.ts';
import type { AppliedResource, ApplyOutcome, ResourceProblem } from './apply/types.ts';
import type { ContentCache } from './contents.ts';
import { deploymentStatus, refName, withDisplay, type ResourceObservation } from './deployment-status.ts';
import type { EventRecorder } from '../runtime/events.ts';
import type { LiveObjects } from './live-objects.ts';
import type { AgentMetrics } from './metrics.ts';

/** How long a status waits for the watch of a newly applied kind to list it (else it says Monitored=False, and updates once it has). */
const WATCH_SYNC_WAIT_MS = 10_000;

export type BundleDeploymentObject = BundleDeployment & KubeObject;

/** What the agent last applied for one BundleDeployment. */
interface AppliedRecord {
  readonly deploymentID: string;
  readonly resources: readonly AppliedResource[];
  readonly problems: readonly ResourceProblem[];
  readonly retryable: boolean;
  readonly keepResources: boolean;
}

export interface DeployerOptions {
  namespace: string;
  store: Store<BundleDeploymentObject>;
  upstream: ObjectWriter;
  contents: ContentCache;
  applier: Applier;
  live: LiveObjects;
  metrics: AgentMetrics;
  /** Told about keys that failed because an API server was unavailable, to retry them once it is back. */
  reconnect?: Pick<ReconnectProbe, 'waitFor'>;
  /** Kubernetes Events on the BundleDeployment when its apply starts or stops failing. */
  events?: Pick<EventRecorder, 'record' | 'recordBestEffort'>;
  now?: () => Date;
}

export class Deployer {
  readonly #opts: DeployerOptions;
  readonly #records = new Map<string, AppliedRecord>();
  readonly #written = new RecentWrites();
  /** ApplySet id → BundleDeployment name, to route downstream events. */
  readonly #owners = new Map<string, string>();

  constructor(opts: DeployerOptions) {
    this.#opts = opts;
  }

  /** The BundleDeployment key a member event belongs to, if it is one of ours. */
  keyForApplySet(applySetId: string): string | undefined {
    const name = this.#owners.get(applySetId);
    return name === undefined ? undefined : `${this.#opts.namespace}/${name}`;
  }

  /** BundleDeployments whose last apply left problems that may go away (e.g. an unknown kind): retried when discovery changes. */
  keysWithRetryableProblems(): string[] {
    return [...this.#records].filter(([, r]) => r.retryable).map(([name]) => `${this.#opts.namespace}/${name}`);
  }

  /** Starts routing events of `name`'s ApplySet (also for ApplySets found on the cluster at start). */
  adopt(name: string): void {
    this.#owners.set(this.#opts.applier.applySetId(name), name);
  }

  async reconcile(rc: ReconcileContext): Promise<void> {
    try {
      return await this.#reconcile(rc);
    } catch (error) {
      if (isServerUnavailable(error)) this.#opts.reconnect?.waitFor(rc.key);
      throw error;
    }
  }

  async #reconcile(rc: ReconcileContext): Promise<void> {
    const { store, namespace } = this.#opts;
    const name = rc.key.slice(namespace.length + 1);
    const cached = store.get(rc.key);
    if (!cached) {
      // The agent never creates BundleDeployments: the cache is the authority on their existence.
      this.#written.forget(rc.key);
      return this.#remove(name, rc);
    }
    // Our last status patch, until the cache has caught up with it: a reconcile
    // right after a write would otherwise compare with the old status and write again.
    const bd = this.#written.fresher(rc.key, cached) ?? cached;
    this.adopt(name);

    const spec = bd.spec;
    let record = this.#records.get(name);
    const needsApply =
      !spec.paused &&
      (record === undefined || record.deploymentID !== spec.deploymentID || record.retryable || this.#correctDrift(bd, record));
    if (needsApply) {
      let resources;
      try {
        resources = (await this.#opts.contents.get(spec.contentName)).resources ?? [];
      } catch (error) {
        if (!isNotFound(error)) throw error;
        await this.#writeStatus(bd, undefined, [{ manifest: spec.contentName, message: `Content ${spec.contentName} not found on the management cluster` }], rc);
        throw new TransientError(`Content ${spec.contentName} of BundleDeployment ${name} not found`);
      }
      const outcome = await this.#opts.applier.apply(
        { name, deploymentID: spec.deploymentID, resources, options: spec.options },
        { signal: rc.signal },
      );
      const before = record;
      record = await this.#remember(name, spec.deploymentID, outcome, spec.options?.keepResources === true);
      this.#opts.metrics.applied(outcome);
      this.#reportProblems(bd, before, record, rc);
    }
    await this.#writeStatus(bd, record, record?.problems ?? [], rc);
    if (record?.retryable) {
      // Written first, so the problem is visible while the retries back off.
      throw new TransientError(`BundleDeployment ${name}: ${record.problems.length} resources not applied yet (retrying)`);
    }
  }

  async #remember(name: string, deploymentID: string, outcome: ApplyOutcome, keepResources: boolean): Promise<AppliedRecord> {
    for (const r of outcome.applied) this.#opts.live.watch(r.type);
    await this.#opts.live.whenSynced(outcome.applied.map((r) => r.type), WATCH_SYNC_WAIT_MS);
    const record: AppliedRecord = { deploymentID, resources: outcome.applied, problems: outcome.problems, retryable: outcome.retryable, keepResources };
    this.#records.set(name, record);
    return record;
  }

  /** An Event per change of the problem list, not per retry: the status carries the details meanwhile. */
  #reportProblems(bd: BundleDeploymentObject, before: AppliedRecord | undefined, after: AppliedRecord, rc: ReconcileContext): void {
    const describe = (r: AppliedRecord | undefined) => (r?.problems ?? []).map((p) => `${p.ref ? refName(p.ref) : p.manifest}: ${p.message}`).join('; ');
    const now = describe(after);
    if (now === describe(before) || !this.#opts.events) return;
    const note = now ? `${after.problems.length} resources not applied: ${now}` : `all ${after.resources.length} resources applied`;
    // A problem is a Warning to deliver; its resolution is a best-effort Normal announcement.
    const recorded = now ? this.#opts.events.record(bd, 'Warning', 'ApplyFailed', note) : this.#opts.events.recordBestEffort(bd, 'Normal', 'Applied', note);
    void recorded.catch((err: unknown) => rc.log.debug({ err }, 'event not recorded'));
  }

  #correctDrift(bd: BundleDeploymentObject, record: AppliedRecord): boolean {
    if (bd.spec.options?.correctDrift?.enabled !== true) return false;
    return this.#observe(record).some((o) => o.missing || o.drifted.length > 0);
  }

  /** Each applied resource as the downstream watches show it (the apply's answer until they have listed it). */
  #observe(record: AppliedRecord): ResourceObservation[] {
    const live = this.#opts.live;
    return record.resources.map((r) => {
      const current = live.current(r.type, r.live);
      if (!current) return { ref: r.ref, state: 'NotFound', message: 'deleted from the cluster', drifted: [], missing: true };
      const readiness = resourceReadiness(current);
      return { ref: r.ref, state: readiness.state, message: readiness.message, drifted: driftedFields(r.desired, current), missing: false };
    });
  }

  async #writeStatus(bd: BundleDeploymentObject, record: AppliedRecord | undefined, problems: readonly ResourceProblem[], rc: ReconcileContext): Promise<void> {
    const observations = record ? this.#observe(record) : [];
    const status = withDisplay(
      deploymentStatus({
        generation: bd.metadata.generation,
        appliedDeploymentID: record?.deploymentID,
        problems,
        observations,
        monitored: record ? record.resources.every((r) => this.#opts.live.synced(r.type)) : false,
        paused: bd.spec.paused === true,
        previous: bd.status,
        now: (this.#opts.now ?? (() => new Date()))(),
      }),
      bd.spec.deploymentID,
    );
    if (sameStatus(bd.status, status)) return;
    // A merge patch of the whole status: the agent is its only writer.
    const stored = await this.#opts.upstream.patch<BundleDeploymentObject>(
      KindResources.BundleDeployment,
      bd.metadata.name ?? '',
      this.#opts.namespace,
      { status: nullMissing(bd.status, status) },
      { contentType: PatchType.merge, subresource: 'status', signal: rc.signal },
    );
    this.#written.written(rc.key, stored);
    this.#opts.metrics.statusWritten();
    rc.log.debug({ ready: status.ready, appliedDeploymentID: status.appliedDeploymentID }, 'status updated');
  }

  async #remove(name: string, rc: ReconcileContext): Promise<void> {
    const record = this.#records.get(name);
    const applySetId = this.#opts.applier.applySetId(name);
    if (!this.#owners.has(applySetId) && record === undefined) return;
    const { deleted } = await this.#opts.applier.remove(name, { keepResources: record?.keepResources ?? (await this.#keptOnCluster(name)), signal: rc.signal });
    this.#records.delete(name);
    this.#owners.delete(applySetId);
    this.#opts.metrics.removed(deleted.length);
    rc.log.info({ bundleDeployment: name, deleted: deleted.length }, 'BundleDeployment gone: its resources were removed');
  }

  /** keepResources of a BundleDeployment deleted while this process did not know it: the ApplySet parent records it. */
  async #keptOnCluster(name: string): Promise<boolean> {
    const sets = await this.#opts.applier.listApplySets();
    return sets.find((s) => s.name === name)?.keepResources ?? false;
  }
}

/** Equal for the purpose of writing: the stored status already says this. */
function sameStatus(stored: BundleDeploymentStatus | undefined, next: BundleDeploymentStatus): boolean {
  return stored !== undefined && jsonEqual(normalise(stored), normalise(next));
}

function normalise(status: BundleDeploymentStatus): BundleDeploymentStatus {
  // The API server drops empty lists on some paths; absent and [] say the same.
  return {
    ...status,
    nonReadyResources: status.nonReadyResources ?? [],
    modifiedResources: status.modifiedResources ?? [],
  };
}

/** A merge patch sets fields; a field to drop must be sent as null. */
function nullMissing(stored: BundleDeploymentStatus | undefined, next: BundleDeploymentStatus): Record<string, unknown> {
  const patch: Record<string, unknown> = { ...next };
  for (const key of Object.keys(stored ?? {})) if (!(key in next)) patch[key] = null;
  return patch;
}
