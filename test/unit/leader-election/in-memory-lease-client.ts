import { ApiError } from '../../../src/runtime/errors.ts';
import type { LeaseClient } from '../../../src/runtime/kube/interfaces.ts';
import type { KubeObject, ResourceType } from '../../../src/runtime/kube/resource.ts';
import type { Lease } from '../../../src/runtime/leader-election.ts';

function apiError(statusCode: number, reason: string, verb: string): ApiError {
  return new ApiError({ statusCode, reason, message: reason, verb, resource: 'leases.coordination.k8s.io' });
}

/**
 * One namespace's Leases with the API server's optimistic concurrency: an
 * update must carry the stored resourceVersion or gets 409. While `down`,
 * every call fails as if the server were unreachable.
 */
export class InMemoryLeaseClient implements LeaseClient {
  readonly #leases = new Map<string, Lease>();
  #version = 0;
  down = false;
  writes = 0;

  lease(name: string): Lease | undefined {
    const lease = this.#leases.get(name);
    return lease && structuredClone(lease);
  }

  /** Stores `lease` as another replica's write would. */
  put(lease: Lease): void {
    this.#store(structuredClone(lease));
  }

  async get<T extends KubeObject>(_type: ResourceType, name: string): Promise<T> {
    this.#failIfDown();
    const lease = this.#leases.get(name);
    if (!lease) throw apiError(404, 'NotFound', 'get');
    return structuredClone(lease) as unknown as T;
  }

  async create<T extends KubeObject>(_type: ResourceType, obj: T): Promise<T> {
    this.#failIfDown();
    if (this.#leases.has(obj.metadata.name ?? '')) throw apiError(409, 'AlreadyExists', 'create');
    return this.#store(structuredClone(obj) as unknown as Lease) as unknown as T;
  }

  async update<T extends KubeObject>(_type: ResourceType, obj: T): Promise<T> {
    this.#failIfDown();
    const current = this.#leases.get(obj.metadata.name ?? '');
    if (!current) throw apiError(404, 'NotFound', 'update');
    if (current.metadata.resourceVersion !== obj.metadata.resourceVersion) throw apiError(409, 'Conflict', 'update');
    return this.#store(structuredClone(obj) as unknown as Lease) as unknown as T;
  }

  #store(lease: Lease): Lease {
    lease.metadata.resourceVersion = String(++this.#version);
    this.#leases.set(lease.metadata.name ?? '', lease);
    this.writes++;
    return structuredClone(lease);
  }

  #failIfDown(): void {
    if (this.down) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' });
  }
}
