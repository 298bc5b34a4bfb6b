import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ContentCache } from '../../../src/agent/contents.ts';
import { ApiError } from '../../../src/runtime/errors.ts';
import type { ObjectReader } from '../../../src/runtime/kube/interfaces.ts';

function reader(names: string[]): ObjectReader & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    async get(_type, name) {
      reads.push(name);
      await Promise.resolve();
      if (!names.includes(name)) throw new ApiError({ statusCode: 404, reason: 'NotFound', message: `${name} not found`, verb: 'get', resource: 'contents.flotilla.dev' });
      return { metadata: { name }, spec: { sha256: name.slice(2), resources: [{ name: 'a.yaml', content: name }] } } as never;
    },
  };
}

describe('ContentCache', () => {
  it('reads a Content once however often it is asked for, also concurrently', async () => {
    const client = reader(['s-1']);
    const cache = new ContentCache({ client, capacity: 4 });
    const [a, b] = await Promise.all([cache.get('s-1'), cache.get('s-1')]);
    await cache.get('s-1');
    assert.equal(a, b);
    assert.deepEqual(client.reads, ['s-1']);
    assert.equal(cache.hits, 1);
  });

  it('evicts the least recently used beyond its capacity', async () => {
    const client = reader(['s-1', 's-2', 's-3']);
    const cache = new ContentCache({ client, capacity: 2 });
    await cache.get('s-1');
    await cache.get('s-2');
    await cache.get('s-1'); // s-2 is now the least recently used
    await cache.get('s-3');
    assert.equal(cache.size, 2);
    await cache.get('s-1');
    await cache.get('s-2');
    assert.deepEqual(client.reads, ['s-1', 's-2', 's-3', 's-2']);
  });

  it('passes a 404 on and remembers nothing for it', async () => {
    const client = reader([]);
    const cache = new ContentCache({ client, capacity: 2 });
    await assert.rejects(cache.get('s-9'), (e: unknown) => e instanceof ApiError && e.statusCode === 404);
    await assert.rejects(cache.get('s-9'));
    assert.equal(client.reads.length, 2);
    assert.equal(cache.size, 0);
  });
});
