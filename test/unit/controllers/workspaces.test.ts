import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkspaceMembership } from '../../../src/controllers/workspaces.ts';
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
