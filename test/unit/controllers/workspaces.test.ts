import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkspaceMembership, WorkspaceSet } from '../../../src/controllers/workspaces.ts';
import { defaultConfig } from '../../../src/config/index.ts';
import type { WorkspacesConfig } from '../../../src/config/schema.ts';

const ns = (name: string, labels: Record<string, string> = {}) => ({ metadata: { name, labels } });
const base = defaultConfig().workspaces;

test('selector mode follows the namespace labels', () => {
  const m = new WorkspaceMembership(base, 'flotilla-system');
  assert.equal(m.isWorkspace(ns('a', { 'flotilla.dev/workspace': 'true' })), true);
  assert.equal(m.isWorkspace(ns('b')), false);
  assert.equal(m.isWorkspace(undefined), false);
});

test('static mode lists names; all mode excludes system namespaces', () => {
  const m = new WorkspaceMembership({ ...base, mode: 'static', names: ['x'] } as WorkspacesConfig, 'flotilla-system');
  assert.equal(m.isWorkspace(ns('x')), true);
  assert.equal(m.isWorkspace(ns('y', { 'flotilla.dev/workspace': 'true' })), false);
  m.update({ ...base, mode: 'all' } as WorkspacesConfig);
  assert.equal(m.isWorkspace(ns('anything')), true);
  assert.equal(m.isWorkspace(ns('kube-system')), false);
  assert.equal(m.isWorkspace(ns('kube-custom')), false);
});

test('deployment namespaces and the controller namespace are never workspaces', () => {
  const m = new WorkspaceMembership({ ...base, mode: 'all' } as WorkspacesConfig, 'flotilla-system');
  assert.equal(m.isWorkspace(ns('flotilla-system')), false);
  assert.equal(m.isWorkspace(ns('flotilla-ws-c-1234abcd', { 'app.kubernetes.io/managed-by': 'flotilla', 'flotilla.dev/workspace': 'true' })), false);
});

function recordingSet(config: WorkspacesConfig = base) {
  const membership = new WorkspaceMembership(config, 'flotilla-system');
  const gauge = { value: -1, set(v: number) { this.value = v; } };
  const lines: Array<{ obj: Record<string, unknown>; msg: string }> = [];
  const set = new WorkspaceSet(membership, gauge, { info: (obj, msg) => lines.push({ obj, msg }) });
  return { membership, gauge, lines, set };
}

test('WorkspaceSet counts workspaces and logs each runtime onboarding and offboarding', () => {
  const { gauge, lines, set } = recordingSet();
  assert.equal(gauge.value, 0);
  assert.equal(set.observe(ns('a', { 'flotilla.dev/workspace': 'true' }), { initial: true }), 'onboarded');
  assert.equal(set.observe(ns('plain'), { initial: true }), undefined);
  assert.equal(gauge.value, 1);
  assert.equal(lines.length, 0, 'the initial list is counted silently');

  assert.equal(set.observe(ns('b', { 'flotilla.dev/workspace': 'true' })), 'onboarded');
  assert.equal(set.observe(ns('b', { 'flotilla.dev/workspace': 'true', other: 'x' })), undefined, 'no change, no event');
  assert.equal(gauge.value, 2);
  assert.equal(set.observe(ns('a')), 'offboarded');
  assert.equal(set.forget('b'), 'offboarded');
  assert.equal(set.forget('b'), undefined);
  assert.equal(set.forget('plain'), undefined);
  assert.equal(gauge.value, 0);
  assert.deepEqual(
    lines.map((l) => `${l.msg} ${String(l.obj.namespace)}`),
    ['workspace onboarded b', 'workspace offboarded a', 'workspace offboarded b'],
  );
});

test('WorkspaceSet.recompute after a mode change reports who entered and who left', () => {
  const { membership, gauge, set } = recordingSet();
  const all = [ns('a', { 'flotilla.dev/workspace': 'true' }), ns('b', { 'flotilla.dev/workspace': 'true' }), ns('c')];
  for (const n of all) set.observe(n, { initial: true });
  assert.equal(gauge.value, 2);
  membership.update({ ...base, mode: 'static', names: ['b', 'c', 'missing'] } as WorkspacesConfig);
  assert.deepEqual(set.recompute(all), { onboarded: ['c'], offboarded: ['a'] });
  assert.equal(gauge.value, 2);
  assert.deepEqual(set.recompute(all), { onboarded: [], offboarded: [] }, 'idempotent');
  // A namespace that vanished from the cache leaves the set too.
  assert.deepEqual(set.recompute([all[2]!]), { onboarded: [], offboarded: ['b'] });
  assert.equal(gauge.value, 1);
  assert.equal(set.has('c'), true);
});
