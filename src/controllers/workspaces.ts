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
