import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withOverrides } from '../../src/controlplane/harness.ts';

test('extra flags replace same-named defaults and append the rest', () => {
  const defaults = ['--authorization-mode=RBAC', '--request-timeout=60s', '--allow-privileged=true'];
  assert.deepEqual(withOverrides(defaults, ['--authorization-mode=Node,RBAC', '--max-requests-inflight=1']), [
    '--request-timeout=60s',
    '--allow-privileged=true',
    '--authorization-mode=Node,RBAC',
    '--max-requests-inflight=1',
  ]);
  assert.deepEqual(withOverrides(defaults, []), defaults);
});
