/**
 * Contents by name, for the agent. A Content is immutable (its name is the
 * hash of its manifests), so a cached one is never re-read; a bounded LRU
 * keeps memory flat however many Bundles the agent has seen. Reads are
 * get-by-name only: the agent's credentials cannot list or watch Contents
 * (README: the agent's security boundary).
 */
import { KindResources } from '../api/kinds.ts';
import type { ContentSpec } from '../api/content.ts';
import type { ObjectReader } from '../runtime/kube/interfaces.ts';
import type { KubeObject } from '../runtime/kube/resource.ts';

interface ContentObject extends KubeObject {
  spec: ContentSpec;
}

export class ContentCache {
  readonly #client: ObjectReader;
  readonly #capacity: number;
  /** Insertion order is recency order: a hit moves the entry to the end. */
  readonly #entries = new Map<string, ContentSpec>();
  readonly #inFlight = new Map<string, Promise<ContentSpec>>();
  hits = 0;
  misses = 0;

  constructor(opts: { client: ObjectReader; capacity: number }) {
    this.#client = opts.client;
    this.#capacity = Math.max(1, opts.capacity);
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * One read per name, shared by concurrent callers: it takes no caller's
   * abort signal, since one reconcile being aborted must not fail the others
   * (the request has the client's own timeout).
   */
  async get(name: string): Promise<ContentSpec> {
    const cached = this.#entries.get(name);
    if (cached) {
      this.hits++;
      this.#entries.delete(name);
      this.#entries.set(name, cached);
      return cached;
    }
    const pending = this.#inFlight.get(name);
    if (pending) return pending;
    this.misses++;
    const read = this.#client
      .get<ContentObject>(KindResources.Content, name)
      .then((content) => {
        this.#remember(name, content.spec);
        return content.spec;
      })
      .finally(() => this.#inFlight.delete(name));
    this.#inFlight.set(name, read);
    return read;
  }

  #remember(name: string, spec: ContentSpec): void {
    this.#entries.set(name, spec);
    while (this.#entries.size > this.#capacity) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
  }
}
