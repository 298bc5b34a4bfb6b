/**
 * Deploys one BundleDeployment's manifests into the downstream cluster with
 * server-side apply, tracked as an ApplySet (KEP-3659) whose parent is the
 * ConfigMap `bd-<name>` in the agent namespace.
 *
 * One apply, in the crash-safe order of docs/architecture.md#agent:
 *  1. parse and place the objects (render.ts); bad manifests become problems;
 *  2. write the parent with the union of what it recorded and what is about
 *     to be applied, so that a crash anywhere later leaves no member the
 *     parent does not point at (and so no member that cannot be pruned);
 *  3. apply Namespaces, then CRDs (waiting until Established), then the rest
 *     in manifest order; a rejected object becomes a problem, the others
 *     are still applied;
 *  4. prune members that are no longer desired;
 *  5. write the parent with exactly the new set.
 * A brand-new set (no parent yet) has no members to prune, so it costs one
 * parent write that already names the deployment, and no LIST: on a cluster
 * receiving thousands of new Bundles, each prune LIST would filter every
 * object of its kinds, work that grows with the square of the wave.
 * The parent is written only when what it says would change: the agent
 * re-applies often, and an unchanged bundle must cost no writes but the
 * members' own (no-op) applies.
 */
import { TerminalError, TransientError, ignoreNotFound, isNotFound } from '../../runtime/errors.ts';
import type { ListerWatcher, ObjectReader, ObjectWriter } from '../../runtime/kube/interfaces.ts';
import { builtinTypes, type KubeObject } from '../../runtime/kube/resource.ts';
import { serviceAccountUser } from '../../runtime/kube/impersonation.ts';
import { silentLogger, type Logger } from '../../observability/logger.ts';
import {
  buildParent,
  computeApplySetId,
  contentOf,
  formatGroupKind,
  parentName,
  parentUpToDate,
  readParent,
  unionContent,
  type ParentContent,
  type ParentIdentity,
} from './applyset.ts';
import { isCrd, isEstablished, waitEstablished } from './crd-wait.ts';
import { listMembers } from './members.ts';
import {
  applyOrder,
  applyRank,
  groupOf,
  parseResources,
  parsedRef,
  placeObject,
  provisionalIdentity,
  rejectDuplicates,
  type ParsedObject,
  type RenderedObject,
} from './render.ts';
import { asRejection, type Rejection } from './rejection.ts';
import { RestMapper, type DiscoveryClient } from './rest-mapper.ts';
import {
  ApplySetKeys,
  DEFAULT_FIELD_MANAGER,
  describeRef,
  type AppliedResource,
  type ApplyInput,
  type ApplyOutcome,
  type ObjectRef,
  type ResourceProblem,
} from './types.ts';

/** What the applier needs of a client; KubeClient has it all. */
export type ApplyClient = ObjectReader & Pick<ObjectWriter, 'apply' | 'delete' | 'patch'> & Pick<ListerWatcher, 'list'>;

/** The manifest name problems about pruning carry: the object no longer comes from any manifest. */
export const PRUNE_MANIFEST = '(prune)';

export interface ApplierOptions {
  /** The downstream cluster, with the agent's own identity. */
  client: ApplyClient & DiscoveryClient;
  /** The agent namespace: ApplySet parents live here. */
  namespace: string;
  /** `applyset.kubernetes.io/tooling`, e.g. `flotilla/0.1.0`. */
  tooling: string;
  fieldManager?: string;
  logger?: Logger;
  mapper?: RestMapper;
  /** An impersonating client, for bundles whose options name a ServiceAccount. */
  clientFor?: (user: string) => ApplyClient;
  /** How long a CRD may take to become Established. Default 30 s. */
  crdTimeoutMs?: number;
}

/** An ApplySet parent found on the cluster, with what it records. */
export interface RecordedApplySet {
  name: string;
  deploymentID: string | undefined;
  keepResources: boolean;
}

export class Applier {
  readonly #client: ApplyClient;
  readonly #namespace: string;
  readonly #tooling: string;
  readonly #fieldManager: string;
  readonly #logger: Logger;
  readonly #mapper: RestMapper;
  readonly #clientFor: ((user: string) => ApplyClient) | undefined;
  readonly #crdTimeoutMs: number;
  /** resourceVersion of each CRD as last applied: a changed one may serve new kinds or versions. */
  readonly #crdVersions = new Map<string, string>();

  constructor(opts: ApplierOptions) {
    this.#client = opts.client;
    this.#namespace = opts.namespace;
    this.#tooling = opts.tooling;
    this.#fieldManager = opts.fieldManager ?? DEFAULT_FIELD_MANAGER;
    this.#logger = opts.logger ?? silentLogger;
    this.#mapper = opts.mapper ?? new RestMapper({ client: opts.client });
    this.#clientFor = opts.clientFor;
    this.#crdTimeoutMs = opts.crdTimeoutMs ?? 30_000;
  }

  applySetId(name: string): string {
    return computeApplySetId(parentName(name), this.#namespace);
  }

  async apply(input: ApplyInput, opts: { signal?: AbortSignal } = {}): Promise<ApplyOutcome> {
    const { signal } = opts;
    const applySetId = this.applySetId(input.name);
    const defaultNamespace = input.options?.defaultNamespace || 'default';
    const writer = this.#writerFor(input, defaultNamespace);
    const log = this.#logger.child({ bundleDeployment: input.name, applySetId });

    // 1. Parse, map, place. Kinds not served yet may come from a CRD in
    // this very bundle: they are looked up again once the CRDs are applied.
    const parsed = parseResources(input.resources);
    const problems: ResourceProblem[] = [...parsed.problems];
    let retryable = false;
    const mapped: RenderedObject[] = [];
    const unmappedAll: Array<ParsedObject & { identity: string; ref: ObjectRef }> = [];
    for (const p of parsed.objects) {
      const type = await this.#mapper.resourceFor(p.object.apiVersion ?? '', p.object.kind ?? '');
      if (type) mapped.push(placeObject(p, type, defaultNamespace, applySetId));
      else unmappedAll.push({ ...p, identity: provisionalIdentity(p, defaultNamespace), ref: parsedRef(p) });
    }
    const seen = new Map<string, string>();
    const known = rejectDuplicates(mapped, problems, seen);
    const unmapped = rejectDuplicates(unmappedAll, problems, seen);

    // 2. Parent first, with the union of old and new.
    const identity: ParentIdentity = {
      bundleDeployment: input.name,
      namespace: this.#namespace,
      applySetId,
      tooling: this.#tooling,
      keepResources: input.options?.keepResources === true,
    };
    let parent = await this.#readParent(input.name, signal);
    // No parent: a brand-new set. Members are only ever written after their
    // parent, so none can exist yet: nothing to prune, and the one parent
    // write can already name the deployment being applied (rewritten below
    // only if the apply leaves problems).
    const fresh = parent === undefined;
    const recorded = readParent(parent);
    const planned = contentOf(
      [
        ...known.map((r) => formatGroupKind(r.type)),
        ...unmapped.map((p) => formatGroupKind({ group: groupOf(p.ref.apiVersion), kind: p.ref.kind })),
      ],
      [...known.map((r) => r.object.metadata.namespace ?? ''), ...unmapped.map((p) => p.ref.namespace || defaultNamespace)],
      this.#namespace,
      undefined,
    );
    const union = unionContent(recorded, planned, fresh ? input.deploymentID : recorded.deploymentID);
    parent = await this.#writeParent(identity, union, parent, signal);

    // 3. Apply: Namespaces and CRDs, then (once the CRDs serve) the rest.
    const applied: AppliedResource[] = [];
    const attempt = async (item: RenderedObject): Promise<KubeObject | undefined> => {
      const result = await this.#applyOne(writer, item, signal);
      if ('live' in result) {
        applied.push({ ref: item.ref, type: item.type, desired: item.object, live: result.live });
        return result.live;
      }
      problems.push({ manifest: item.manifest, ref: item.ref, message: result.rejection.message });
      retryable ||= result.rejection.retryable;
      return undefined;
    };
    const early = applyOrder(known.filter((r) => applyRank(r.type) < 2));
    let crdsChanged = false;
    for (const item of early) {
      const live = await attempt(item);
      if (!live || !isCrd(item.type)) continue;
      const name = item.ref.name;
      const establishedAtOnce = isEstablished(live);
      if (!establishedAtOnce && !(await waitEstablished(this.#client, name, { timeoutMs: this.#crdTimeoutMs, signal }))) {
        problems.push({
          manifest: item.manifest,
          ref: item.ref,
          message: `CustomResourceDefinition ${name} did not become Established within ${this.#crdTimeoutMs / 1000} s`,
        });
        retryable = true;
      }
      // New, or changed (maybe new versions or kinds): discovery must be re-read.
      if (!establishedAtOnce || this.#crdVersions.get(name) !== live.metadata.resourceVersion) crdsChanged = true;
      if (live.metadata.resourceVersion) this.#crdVersions.set(name, live.metadata.resourceVersion);
    }
    if (crdsChanged) this.#mapper.invalidate();
    const late = known.filter((r) => applyRank(r.type) === 2);
    const stillUnknown: typeof unmapped = [];
    for (const p of unmapped) {
      const type = crdsChanged ? await this.#mapper.resourceFor(p.ref.apiVersion, p.ref.kind) : undefined;
      if (type) late.push(placeObject(p, type, defaultNamespace, applySetId));
      else stillUnknown.push(p);
    }
    for (const p of stillUnknown) {
      problems.push({ manifest: p.manifest, ref: p.ref, message: `no kind ${p.ref.kind} in apiVersion ${p.ref.apiVersion} on the downstream cluster` });
      retryable = true;
    }
    late.sort((a, b) => a.index - b.index);
    for (const item of late) await attempt(item);
    const rendered = [...early, ...late];

    // 4. Prune what is labelled ours but no longer desired.
    // Objects that failed to apply are still desired: their previous
    // version stays (pruning is for what the manifests no longer name).
    const desired = new Set([...rendered.map((r) => r.identity), ...stillUnknown.map((p) => p.identity)]);
    const pruned: ObjectRef[] = [];
    // A manifest that could not be read may have been meant to keep objects
    // we would otherwise prune: deleting a running workload over a typo is
    // worse than keeping it one apply longer.
    const pruneAllowed = parsed.problems.length === 0;
    let pruneComplete = pruneAllowed;
    if (pruneAllowed && !fresh) {
      const members = await listMembers(this.#client, this.#mapper, union.groupKinds, applySetId, signal);
      for (const member of members) {
        if (desired.has(member.identity) || member.object.metadata.deletionTimestamp) continue;
        try {
          await ignoreNotFound(
            writer.delete(member.type, member.ref.name, member.type.namespaced ? member.ref.namespace : undefined, {
              propagationPolicy: 'Background',
              ...(signal ? { signal } : {}),
            }),
          );
          pruned.push(member.ref);
          log.info({ object: describeRef(member.ref) }, 'pruned');
        } catch (err) {
          const rejection = asRejection(err);
          if (!rejection) throw err;
          problems.push({ manifest: PRUNE_MANIFEST, ref: member.ref, message: `cannot prune: ${rejection.message}` });
          retryable ||= rejection.retryable;
          pruneComplete = false;
        }
      }
    } else if (!pruneAllowed) {
      log.info({ problems: parsed.problems.length }, 'not pruning: some manifests could not be read');
    }

    // 5. The parent now records exactly the new set (or keeps the union while
    // something unpruned may still exist). The deployment ID is recorded only
    // once it applied cleanly, so it says what the cluster really holds.
    const finalContent: ParentContent = pruneComplete
      ? contentOf(
          rendered.map((r) => formatGroupKind(r.type)),
          rendered.map((r) => r.object.metadata.namespace ?? ''),
          this.#namespace,
          undefined,
        )
      : union;
    finalContent.deploymentID = problems.length === 0 ? input.deploymentID : recorded.deploymentID;
    await this.#writeParent(identity, finalContent, parent, signal);

    return { applySetId, applied, problems, pruned, retryable };
  }

  /** BundleDeployment gone: delete every member and the parent; with keepResources, unlabel the members instead of deleting them. */
  async remove(name: string, opts: { keepResources: boolean; signal?: AbortSignal }): Promise<{ deleted: ObjectRef[] }> {
    const { signal } = opts;
    const applySetId = this.applySetId(name);
    const parent = await this.#readParent(name, signal);
    if (!parent) return { deleted: [] };
    // The agent's own identity, not the bundle's ServiceAccount: remove() has
    // no options to name it, and that account may itself be gone by now. It
    // only touches objects labelled part of this set.
    const members = await listMembers(this.#client, this.#mapper, readParent(parent).groupKinds, applySetId, signal);
    const deleted: ObjectRef[] = [];
    for (const member of members) {
      const namespace = member.type.namespaced ? member.ref.namespace : undefined;
      if (opts.keepResources) {
        await ignoreNotFound(
          this.#client.patch(member.type, member.ref.name, namespace, { metadata: { labels: { [ApplySetKeys.partOf]: null } } }, {
            fieldManager: this.#fieldManager,
            ...(signal ? { signal } : {}),
          }),
        );
        continue;
      }
      if (member.object.metadata.deletionTimestamp) continue;
      await ignoreNotFound(this.#client.delete(member.type, member.ref.name, namespace, { propagationPolicy: 'Background', ...(signal ? { signal } : {}) }));
      deleted.push(member.ref);
    }
    // Last: if anything above failed, the parent still points at what is left.
    await ignoreNotFound(this.#client.delete(builtinTypes.configMap, parentName(name), this.#namespace, signal ? { signal } : {}));
    this.#logger.info({ bundleDeployment: name, deleted: deleted.length, kept: opts.keepResources }, 'removed ApplySet');
    return { deleted };
  }

  /** BundleDeployments this agent holds ApplySet parents for, to clean up those deleted while it was down. */
  async listApplySets(opts: { signal?: AbortSignal } = {}): Promise<RecordedApplySet[]> {
    const found: RecordedApplySet[] = [];
    let continueToken: string | undefined;
    do {
      const page = await this.#client.list<KubeObject>(builtinTypes.configMap, {
        namespace: this.#namespace,
        labelSelector: `${ApplySetKeys.bundleDeployment},${ApplySetKeys.id}`,
        limit: 500,
        continue: continueToken,
        signal: opts.signal,
      });
      for (const cm of page.items) {
        const name = cm.metadata.labels?.[ApplySetKeys.bundleDeployment];
        // Only parents this agent would have written (the id matches the name).
        if (!name || cm.metadata.labels?.[ApplySetKeys.id] !== this.applySetId(name)) continue;
        found.push({
          name,
          deploymentID: cm.metadata.annotations?.[ApplySetKeys.deploymentID],
          keepResources: cm.metadata.annotations?.[ApplySetKeys.keepResources] === 'true',
        });
      }
      continueToken = page.metadata.continue || undefined;
    } while (continueToken);
    return found.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** SSA one object; a rejection of the object is returned, anything else thrown. */
  async #applyOne(
    writer: ApplyClient,
    item: RenderedObject,
    signal: AbortSignal | undefined,
  ): Promise<{ live: KubeObject } | { rejection: Rejection }> {
    try {
      return { live: await writer.apply<KubeObject>(item.type, item.object, { fieldManager: this.#fieldManager, force: true, ...(signal ? { signal } : {}) }) };
    } catch (err) {
      const rejection = asRejection(err);
      if (!rejection) throw err;
      return { rejection };
    }
  }

  #writerFor(input: ApplyInput, defaultNamespace: string): ApplyClient {
    const account = input.options?.serviceAccount;
    if (!account) return this.#client;
    if (!this.#clientFor) {
      // Applying with the agent's wider rights instead would silently grant
      // the bundle more than its owner asked for.
      throw new TerminalError(
        'ImpersonationUnavailable',
        `BundleDeployment ${input.name} names ServiceAccount ${account}, but this applier cannot impersonate (no clientFor)`,
      );
    }
    return this.#clientFor(serviceAccountUser(defaultNamespace, account));
  }

  async #readParent(name: string, signal: AbortSignal | undefined): Promise<KubeObject | undefined> {
    return ignoreNotFound(this.#client.get<KubeObject>(builtinTypes.configMap, parentName(name), this.#namespace, signal ? { signal } : {}));
  }

  /** Writes the parent unless it already says exactly this; returns the live parent. */
  async #writeParent(identity: ParentIdentity, content: ParentContent, live: KubeObject | undefined, signal: AbortSignal | undefined): Promise<KubeObject | undefined> {
    const desired = buildParent(identity, content);
    if (parentUpToDate(live, desired)) return live;
    try {
      return await this.#client.apply<KubeObject>(builtinTypes.configMap, desired, { fieldManager: this.#fieldManager, force: true, ...(signal ? { signal } : {}) });
    } catch (err) {
      if (isNotFound(err) && !(await this.#namespaceExists(signal))) {
        throw new TransientError(
          `agent namespace ${this.#namespace} does not exist on the downstream cluster; the agent's installation creates it (ApplySet parents live there)`,
        );
      }
      throw err;
    }
  }

  async #namespaceExists(signal: AbortSignal | undefined): Promise<boolean> {
    return (await ignoreNotFound(this.#client.get(builtinTypes.namespace, this.#namespace, undefined, signal ? { signal } : {}))) !== undefined;
  }
}

