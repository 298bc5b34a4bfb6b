import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../../../src/runtime/errors.ts';
import type { WatchEvent } from '../../../src/runtime/kube/api-types.ts';
import { WatchDecoder } from '../../../src/runtime/kube/watch-decoder.ts';

const added = (name: string) => JSON.stringify({ type: 'ADDED', object: { metadata: { name, resourceVersion: '7' } } });

test('events split across chunks anywhere are decoded whole and in order; blank lines are skipped', () => {
  const decoder = new WatchDecoder('configmaps');
  const events: WatchEvent[] = [];
  const stream = `${added('a')}\n\n${added('b')}\n${added('c')}\n`;
  for (const chunk of [stream.slice(0, 10), stream.slice(10, 57), stream.slice(57)]) decoder.push(chunk, (e) => events.push(e));
  assert.deepEqual(
    events.map((e) => e.object.metadata.name),
    ['a', 'b', 'c'],
  );
});

test('an ERROR event becomes an ApiError with the Status code, after the events before it', () => {
  const decoder = new WatchDecoder('configmaps');
  const events: WatchEvent[] = [];
  const expired = JSON.stringify({ type: 'ERROR', object: { code: 410, reason: 'Expired', message: 'too old resource version' } });
  assert.throws(
    () => decoder.push(`${added('a')}\n${expired}\n${added('b')}\n`, (e) => events.push(e)),
    (err: unknown) => err instanceof ApiError && err.statusCode === 410 && err.reason === 'Expired' && err.verb === 'watch',
  );
  assert.deepEqual(
    events.map((e) => e.object.metadata.name),
    ['a'],
  );
});

test('an undecodable line fails the stream', () => {
  const decoder = new WatchDecoder('configmaps');
  assert.throws(() => decoder.push('{"type":\n', () => {}), /watch configmaps: undecodable event/);
});
