import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BackoffManager, MAX_RETRY_AFTER_MS, MIN_RETRY_AFTER_MS, retryDelayMs } from '../../../src/runtime/informer/backoff-manager.ts';
import { ApiError } from '../../../src/runtime/errors.ts';

function manager(): { backoff: BackoffManager; advance: (ms: number) => void } {
  let now = 0;
  const backoff = new BackoffManager({ initialMs: 800, maxMs: 30_000, resetAfterMs: 120_000, jitter: 0, now: () => now });
  return { backoff, advance: (ms) => (now += ms) };
}

const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' });
const initializing = (retryAfterSeconds: number | undefined) =>
  new ApiError({ statusCode: 429, reason: 'TooManyRequests', message: 'storage is (re)initializing', verb: 'watch', resource: 'bundles.flotilla.dev', retryAfterSeconds });

test('backoff doubles to its cap while the API server stays unreachable', () => {
  const { backoff, advance } = manager();
  const waits: number[] = [];
  for (let i = 0; i < 8; i++) {
    waits.push(retryDelayMs(refused, backoff));
    advance(1000);
  }
  assert.deepEqual(waits, [800, 1600, 3200, 6400, 12_800, 25_600, 30_000, 30_000]);
});

test('a Retry-After is believed instead of a backoff grown during an outage, and leaves the backoff alone', () => {
  const { backoff, advance } = manager();
  for (let i = 0; i < 6; i++) {
    retryDelayMs(refused, backoff);
    advance(1000);
  }
  // Back after a restart, the server asks for one second: one second it is.
  assert.equal(retryDelayMs(initializing(1), backoff), 1000);
  assert.equal(retryDelayMs(initializing(3), backoff), 3000);
  // The next unexplained failure continues where the backoff was.
  assert.equal(retryDelayMs(refused, backoff), 30_000);
});

test('Retry-After is bounded: never a spin on 0, never more than a minute', () => {
  const { backoff } = manager();
  assert.equal(retryDelayMs(initializing(0), backoff), MIN_RETRY_AFTER_MS);
  assert.equal(retryDelayMs(initializing(3600), backoff), MAX_RETRY_AFTER_MS);
});

test('a 429 without Retry-After, and a 504 from a stalled etcd, back off', () => {
  const { backoff } = manager();
  assert.equal(retryDelayMs(initializing(undefined), backoff), 800);
  const timeout = new ApiError({ statusCode: 504, reason: 'Timeout', message: 'request did not complete', verb: 'list', resource: 'bundles.flotilla.dev' });
  assert.equal(retryDelayMs(timeout, backoff), 1600);
});
