import type { WorkspacesConfig } from '../config/schema.ts';
import { compileTrustedSelector, type CompiledSelector } from '../labels/selector.ts';
import { Label, MANAGED_BY_VALUE } from '../api/constants.ts';
import type { KubeObject } from '../runtime/kube/resource.ts';

/**
 * Decides which namespaces are workspaces, from the config's mode. Pure:
 * the namespace informer supplies the objects, the config reload supplies
 * new settings. Deployment namespaces (created by Flotilla for Clusters) and
 * the controller's own namespace are never workspaces, whatever the mode —
 * otherwise mode `all` would manage its own output.
 */
export class WorkspaceMembership {
  #config: WorkspacesConfig;
  #selector: CompiledSelector;
  #names: ReadonlySet<string>;
  #excluded: ReadonlySet<string>;
  readonly #controllerNamespace: string;

  constructor(config: WorkspacesConfig, controllerNamespace: string) {
    this.#controllerNamespace = controllerNamespace;
    this.#config = config;
    this.#selector = compileTrustedSelector(config.selector);
    this.#names = new Set(config.names);
    this.#excluded = new Set(config.excludedNamespaces);
  }

  get config(): WorkspacesConfig {
    return this.#config;
  }

  update(config: WorkspacesConfig): void {
    this.#config = config;
    this.#selector = compileTrustedSelector(config.selector);
    this.#names = new Set(config.names);
    this.#excluded = new Set(config.excludedNamespaces);
  }

  /** Whether `ns` (a Namespace object from the cache) is a workspace now. */
  isWorkspace(ns: KubeObject | undefined): boolean {
    if (!ns) return false;
    const name = ns.metadata.name ?? '';
    const labels = ns.metadata.labels ?? {};
    if (name === this.#controllerNamespace || labels[Label.ManagedBy] === MANAGED_BY_VALUE) return false;
    switch (this.#config.mode) {
      case 'static':
        return this.#names.has(name);
      case 'all':
        return !this.#excluded.has(name) && !name.startsWith('kube-');
      case 'selector':
        return this.#selector.matches(labels);
    }
  }
}

/** What a namespace event did to the workspace set. */
export type MembershipChange = 'onboarded' | 'offboarded' | undefined;

interface InfoLogger {
  info(obj: Record<string, unknown>, msg: string): void;
}

/**
 * The set of onboarded workspaces, kept current from namespace events and
 * config reloads: drives the `flotilla_workspaces` gauge and logs one info
 * line per namespace that is onboarded or offboarded at runtime (the
 * initial list is counted silently: a restart onboards nothing new).
 * Reconciles do not read this set; they ask `WorkspaceMembership` about the
 * cached namespace, so a missed event can never make them act on stale
 * membership.
 */
export class WorkspaceSet {
  readonly #membership: WorkspaceMembership;
  readonly #names = new Set<string>();
  readonly #log: InfoLogger;
  readonly #gauge: { set(value: number): void };

  constructor(membership: WorkspaceMembership, gauge: { set(value: number): void }, log: InfoLogger) {
    this.#membership = membership;
    this.#gauge = gauge;
    this.#log = log;
    this.#gauge.set(0);
  }

  get size(): number {
    return this.#names.size;
  }

  has(name: string): boolean {
    return this.#names.has(name);
  }

  /** A namespace was added or changed: is it (still) a workspace? */
  observe(ns: KubeObject, options: { initial?: boolean } = {}): MembershipChange {
    const name = ns.metadata.name ?? '';
    const now = this.#membership.isWorkspace(ns);
    const was = this.#names.has(name);
    if (now === was) return undefined;
    if (now) this.#names.add(name);
    else this.#names.delete(name);
    this.#gauge.set(this.#names.size);
    if (options.initial) return now ? 'onboarded' : 'offboarded';
    this.#log.info({ namespace: name, mode: this.#membership.config.mode }, now ? 'workspace onboarded' : 'workspace offboarded');
    return now ? 'onboarded' : 'offboarded';
  }

  /** A namespace was deleted. */
  forget(name: string): MembershipChange {
    if (!this.#names.delete(name)) return undefined;
    this.#gauge.set(this.#names.size);
    this.#log.info({ namespace: name, reason: 'NamespaceDeleted' }, 'workspace offboarded');
    return 'offboarded';
  }

  /**
   * After `WorkspaceMembership.update` (config reload): re-evaluates every
   * cached namespace; returns the names that entered and left the set.
   */
  recompute(namespaces: readonly KubeObject[]): { onboarded: string[]; offboarded: string[] } {
    const onboarded: string[] = [];
    const offboarded: string[] = [];
    const seen = new Set<string>();
    for (const ns of namespaces) {
      const name = ns.metadata.name ?? '';
      seen.add(name);
      const change = this.observe(ns);
      if (change === 'onboarded') onboarded.push(name);
      else if (change === 'offboarded') offboarded.push(name);
    }
    for (const name of [...this.#names]) if (!seen.has(name) && this.forget(name)) offboarded.push(name);
    return { onboarded: onboarded.sort(), offboarded: offboarded.sort() };
  }
}
