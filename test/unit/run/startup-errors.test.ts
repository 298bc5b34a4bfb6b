import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../../../src/main.ts', import.meta.url));
const home = mkdtempSync(join(tmpdir(), 'flotilla-home-'));

function run(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [main, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: home, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: result.status, stderr: result.stderr };
}

test('no cluster configured is one clear sentence and exit 2, not an endless retry', () => {
  const { code, stderr } = run([]);
  assert.equal(code, 2);
  assert.match(stderr, /No cluster configured: pass --kubeconfig FILE, set KUBECONFIG, or run inside a pod\./);
});

test('an unreadable kubeconfig names the file', () => {
  const { code, stderr } = run(['--kubeconfig', join(home, 'missing.kubeconfig')]);
  assert.equal(code, 2);
  assert.match(stderr, /Cannot load kubeconfig .*missing\.kubeconfig/);
});

test('a bad config file names the field and stops the start', () => {
  const config = join(home, 'bad.yaml');
  writeFileSync(config, 'concurrency:\n  maxConcurrentReconciles: 0\n');
  const { code, stderr } = run(['--config', config]);
  assert.equal(code, 2);
  assert.match(stderr, /concurrency\.maxConcurrentReconciles/);
});
