import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { ProblemLog } from '../../../src/runtime/kube/problem-log.ts';
import type { ApiProblem } from '../../../src/runtime/kube/explain-error.ts';

function capture() {
  const lines: Array<{ level: number; msg: string; failuresSinceLastReport?: number }> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as (typeof lines)[number]);
      done();
    },
  });
  return { lines, logger: pino({ level: 'info' }, stream) };
}

const unreachable: ApiProblem = { category: 'unreachable', key: 'unreachable', message: 'cannot reach the API server at X: refused; check it' };
const crds: ApiProblem = { category: 'crds-missing', key: 'crds-missing', message: 'the Flotilla CRDs are not installed; install them' };

test('a problem reported by many sources and many retries is logged once, then at doubling intervals', async () => {
  let now = 0;
  const { lines, logger } = capture();
  const log = new ProblemLog({ logger, firstRepeatMs: 60_000, maxRepeatMs: 240_000, now: () => now });
  for (const source of ['bundles', 'clusters', 'namespaces']) log.report(source, unreachable);
  for (let i = 0; i < 10; i++) {
    now += 1000;
    log.report('bundles', unreachable);
  }
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(lines.map((l) => l.msg), [unreachable.message]);
  assert.equal(lines[0]?.level, 50);

  now = 60_000;
  log.report('clusters', unreachable);
  now = 61_000;
  log.report('clusters', unreachable);
  await new Promise((r) => setImmediate(r));
  assert.equal(lines.length, 2);
  assert.equal(lines[1]?.msg, `still failing: ${unreachable.message}`);
  assert.equal(lines[1]?.failuresSinceLastReport, 13);
  // Next repeat after 120 s, then capped at 240 s.
  now = 60_000 + 119_000;
  log.report('clusters', unreachable);
  now = 60_000 + 120_000;
  log.report('clusters', unreachable);
  now += 239_000;
  log.report('clusters', unreachable);
  now += 1000;
  log.report('clusters', unreachable);
  await new Promise((r) => setImmediate(r));
  assert.equal(lines.length, 4);
});

test('resolved once every source that reported it has recovered', async () => {
  const { lines, logger } = capture();
  const log = new ProblemLog({ logger });
  log.report('bundles', crds);
  log.report('clusters', crds);
  log.resolve('bundles');
  assert.deepEqual(log.current(), [crds]);
  log.resolve('clusters');
  assert.deepEqual(log.current(), []);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(lines.map((l) => [l.level, l.msg]), [
    [50, crds.message],
    [30, 'resolved: the Flotilla CRDs are not installed'],
  ]);
});

test('a source whose problem changes moves from the old problem to the new one', async () => {
  const { lines, logger } = capture();
  const log = new ProblemLog({ logger });
  log.report('bundles', unreachable);
  log.report('bundles', crds);
  assert.deepEqual(log.current(), [crds]);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(lines.map((l) => l.msg), [unreachable.message, 'resolved: cannot reach the API server at X: refused', crds.message]);
});
