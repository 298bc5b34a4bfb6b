import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const home = mkdtempSync(join(tmpdir(), 'flotilla-home-'));

function run(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [main, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: home, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: result.status, stderr: result.stderr };
}

// With no cluster configured `run` starts the local quick start
// (test/integration/quickstart.test.ts); --no-local (the container image's
// entrypoint) turns that into a configuration error.
test('no cluster configured with --no-local is one clear sentence and exit 2, not an endless retry', () => {
  const { code, stderr } = run(['--no-local']);
  assert.equal(code, 2);
  assert.equal(stderr.trim(), 'No cluster configured: pass --kubeconfig FILE, set KUBECONFIG, or run inside a pod (or drop --no-local for the local quick start).');
});

test('an unknown option is one sentence and exit 2', () => {
  const { code, stderr } = run(['--kubeconfgi', 'x']);
  assert.equal(code, 2);
  assert.equal(stderr.trim(), 'Unknown option --kubeconfgi for `flotilla run`; run `flotilla run --help` for usage.');
});

test('contradictory or invalid flags are one sentence and exit 2', () => {
  assert.deepEqual(run(['--local', '--no-local']), { code: 2, stderr: '--local and --no-local contradict each other; pass one of them.\n' });
  assert.deepEqual(run(['--dir', 'x', '--kubeconfig', join(home, 'none')]), { code: 2, stderr: '--dir only applies to the local quick start (--local).\n' });
  const level = run(['--log-level', 'loud', '--no-local']);
  assert.equal(level.code, 2);
  assert.match(level.stderr, /^--log-level must be one of trace, debug, info, warn, error, fatal, silent, not "loud"\.\n$/);
});

test('an unreadable kubeconfig names the file', () => {
  const { code, stderr } = run(['--kubeconfig', join(home, 'missing.kubeconfig')]);
  assert.equal(code, 2);
  assert.match(stderr, /^Cannot read the kubeconfig .*missing\.kubeconfig \(--kubeconfig\): ENOENT/);
});

test('a bad config file names the field and stops the start', () => {
  const config = join(home, 'bad.yaml');
  writeFileSync(config, 'concurrency:\n  maxConcurrentReconciles: 0\n');
  const { code, stderr } = run(['--config', config]);
  assert.equal(code, 2);
  assert.match(stderr, /concurrency\.maxConcurrentReconciles/);
});
