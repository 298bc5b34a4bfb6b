import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isPortConflict } from '../../src/controlplane/harness.ts';

test('a component that lost its port to another process is recognised, so the start is retried with new ports', () => {
  const kcm = new Error(
    'kube-controller-manager exited (code 1) before https://127.0.0.1:40785/healthz was healthy; last lines:\n' +
      'E1123 run.go:72] "command failed" err="failed to create listener: failed to listen on 127.0.0.1:40785: listen tcp 127.0.0.1:40785: bind: address already in use"',
  );
  assert.equal(isPortConflict(kcm), true);
  assert.equal(isPortConflict(new Error('etcd exited (code 1): listen tcp 127.0.0.1:2379: bind: address already in use')), true);
});

test('other start-up failures are not retried', () => {
  assert.equal(isPortConflict(new Error('kube-apiserver exited (code 1): invalid flag --bogus')), false);
  assert.equal(isPortConflict('address already in use'), false, 'only errors');
  assert.equal(isPortConflict(undefined), false);
});
