import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { watchConfig, type ConfigChange, type ConfigWatcher, type ConfigWatcherOptions } from '../../../src/config/watch.ts';
import { createRegistry } from '../../../src/observability/metrics.ts';
import { captureLogger, waitFor } from '../observability/test-helpers.ts';

/**
 * For tests that drive `reload()` themselves: a debounce far beyond the test's
 * duration keeps event-driven reloads from racing the explicit ones.
 */
const EXPLICIT_ONLY = { debounceMs: 600_000 } as const;

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'flotilla-watch-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Starts a watcher that records changes. Polling is off so that the tests
 * prove the file-system watch itself picks the change up.
 */
async function startWatcher(
  t: TestContext,
  path: string,
  options: ConfigWatcherOptions = {},
): Promise<{ watcher: ConfigWatcher; changes: ConfigChange[] }> {
  const changes: ConfigChange[] = [];
  const watcher = await watchConfig(path, (change) => void changes.push(change), { debounceMs: 20, pollIntervalMs: 0, ...options });
  t.after(() => watcher.close());
  return { watcher, changes };
}

/**
 * Lays out a directory the way the kubelet mounts a ConfigMap:
 * `flotilla.yaml -> ..data/flotilla.yaml`, `..data -> ..<timestamp>`.
 */
async function configMapVolume(dir: string, content: string): Promise<{ path: string; update: (content: string) => Promise<void> }> {
  let generation = 0;
  const writeGeneration = async (text: string): Promise<string> => {
    generation += 1;
    const name = `..2024_01_01_00_00_0${generation}.000000001`;
    await mkdir(join(dir, name));
    await writeFile(join(dir, name, 'flotilla.yaml'), text);
    return name;
  };
  const first = await writeGeneration(content);
  await symlink(first, join(dir, '..data'));
  await symlink(join('..data', 'flotilla.yaml'), join(dir, 'flotilla.yaml'));
  let current = first;
  return {
    path: join(dir, 'flotilla.yaml'),
    // The kubelet's AtomicWriter: new directory, new `..data_tmp` symlink, rename over `..data`, remove the old directory.
    update: async (text) => {
      const next = await writeGeneration(text);
      await symlink(next, join(dir, '..data_tmp'));
      await rename(join(dir, '..data_tmp'), join(dir, '..data'));
      await rm(join(dir, current), { recursive: true });
      current = next;
    },
  };
}

describe('watchConfig', () => {
  it('reloads a file changed in place and reports the changed fields', async (t) => {
    const dir = await tempDir(t);
    const path = join(dir, 'flotilla.yaml');
    await writeFile(path, 'concurrency:\n  maxConcurrentReconciles: 4\n');
    const { watcher, changes } = await startWatcher(t, path);
    assert.equal(watcher.current.concurrency.maxConcurrentReconciles, 4);

    await writeFile(path, 'concurrency:\n  maxConcurrentReconciles: 8\n');
    await waitFor(() => changes.length === 1, 'the change to be applied');
    const change = changes[0];
    assert.deepEqual(change?.changed, ['concurrency.maxConcurrentReconciles']);
    assert.equal(change?.previous.concurrency.maxConcurrentReconciles, 4);
    assert.equal(change?.next.concurrency.maxConcurrentReconciles, 8);
    assert.equal(watcher.current.concurrency.maxConcurrentReconciles, 8);
  });

  it('reloads through a ConfigMap-style ..data symlink swap', async (t) => {
    const dir = await tempDir(t);
    const volume = await configMapVolume(dir, 'api:\n  qps: 10\n');
    const { watcher, changes } = await startWatcher(t, volume.path);
    assert.equal(watcher.current.api.qps, 10);

    await volume.update('api:\n  qps: 25\n  burst: 50\n');
    await waitFor(() => changes.length === 1, 'the swapped content to be applied');
    assert.deepEqual(changes[0]?.changed, ['api.qps', 'api.burst']);
    assert.equal(watcher.current.api.qps, 25);

    // A second swap works too: the watch is on the directory, not on an inode that went away.
    await volume.update('api:\n  qps: 30\n  burst: 50\n');
    await waitFor(() => changes.length === 2, 'the second swap to be applied');
    assert.equal(watcher.current.api.qps, 30);
  });

  it('lists every changed hot field in schema order', async (t) => {
    const dir = await tempDir(t);
    const path = join(dir, 'flotilla.yaml');
    await writeFile(path, '');
    const { changes } = await startWatcher(t, path);
    await writeFile(
      path,
      'log:\n  level: debug\nworkspaces:\n  selector:\n    matchLabels: {team: a}\nconcurrency:\n  lowPriorityShare: 0.5\n',
    );
    await waitFor(() => changes.length === 1, 'the change to be applied');
    assert.deepEqual(changes[0]?.changed, ['workspaces.selector.matchLabels', 'concurrency.lowPriorityShare', 'log.level']);
    assert.deepEqual(changes[0]?.restartRequired, []);
  });

  it('rejects an invalid reload with a log line naming the problem and keeps the running configuration', async (t) => {
    const dir = await tempDir(t);
    const path = join(dir, 'flotilla.yaml');
    await writeFile(path, 'concurrency:\n  maxConcurrentReconciles: 4\n');
    const { logger, lines } = captureLogger();
    const registry = createRegistry({ defaultMetrics: false });
    const { watcher, changes } = await startWatcher(t, path, { logger, registry });

    await writeFile(path, 'concurrency:\n  maxConcurrentReconciles: 0\n');
    await waitFor(() => lines.some((line) => line.msg.startsWith('configuration reload rejected')), 'the rejection to be logged');
    const rejection = lines.find((line) => line.msg.startsWith('configuration reload rejected'));
    assert.match(rejection?.msg ?? '', /concurrency\.maxConcurrentReconciles must be an integer between 1 and 10000, got 0/);
    assert.equal(watcher.current.concurrency.maxConcurrentReconciles, 4);
    assert.equal(changes.length, 0);
    assert.match(await registry.metrics(), /flotilla_config_last_reload_successful 0/);

    // The next valid content is applied normally.
    await writeFile(path, 'concurrency:\n  maxConcurrentReconciles: 6\n');
    await waitFor(() => changes.length === 1, 'the valid change to be applied');
    assert.equal(watcher.current.concurrency.maxConcurrentReconciles, 6);
    assert.match(await registry.metrics(), /flotilla_config_last_reload_successful 1/);
  });

  it('warns about restart-only fields, keeps their running values and does not call onChange for them', async (t) => {
    const dir = await tempDir(t);
    const path = join(dir, 'flotilla.yaml');
    await writeFile(path, '');
    const { logger, lines } = captureLogger();
    const { watcher, changes } = await startWatcher(t, path, { logger, ...EXPLICIT_ONLY });

    await writeFile(path, 'leaderElection:\n  leaseName: renamed\nshutdown:\n  timeoutSeconds: 5\n');
    assert.equal(await watcher.reload(), 'restart-required');
    const warning = lines.find((line) => line.msg.startsWith('configuration fields changed that only take effect after a restart'));
    assert.deepEqual(warning?.fields, ['leaderElection.leaseName', 'shutdown.timeoutSeconds']);
    assert.equal(watcher.current.leaderElection.leaseName, 'flotilla-controller');
    assert.equal(changes.length, 0);

    // Mixed: the hot field applies, the restart-only one is reported alongside.
    await writeFile(path, 'leaderElection:\n  leaseName: renamed\nlog:\n  level: warn\n');
    assert.equal(await watcher.reload(), 'applied');
    assert.deepEqual(changes.at(-1)?.changed, ['log.level']);
    assert.deepEqual(changes.at(-1)?.restartRequired, ['leaderElection.leaseName']);
    assert.equal(watcher.current.leaderElection.leaseName, 'flotilla-controller');
  });

  it('ignores events that do not change the content', async (t) => {
    const dir = await tempDir(t);
    const path = join(dir, 'flotilla.yaml');
    await writeFile(path, 'log:\n  level: info\n');
    const { watcher, changes } = await startWatcher(t, path, EXPLICIT_ONLY);
    // Same meaning, different bytes: read and validated, but nothing to apply.
    await writeFile(path, '# a comment\nlog:\n  level: info\n');
    assert.equal(await watcher.reload(), 'unchanged');
    // Same bytes: skipped by the content hash.
    await writeFile(path, '# a comment\nlog:\n  level: info\n');
    assert.equal(await watcher.reload(), 'unchanged');
    assert.equal(changes.length, 0);
  });

  it('logs a failing onChange and keeps watching', async (t) => {
    const dir = await tempDir(t);
    const path = join(dir, 'flotilla.yaml');
    await writeFile(path, '');
    const { logger, lines } = captureLogger();
    let calls = 0;
    const watcher = await watchConfig(
      path,
      () => {
        calls += 1;
        throw new Error('listener broke');
      },
      { logger, debounceMs: 20, pollIntervalMs: 0 },
    );
    t.after(() => watcher.close());
    await writeFile(path, 'api:\n  qps: 5\n');
    await waitFor(() => calls === 1, 'the listener to be called');
    await waitFor(() => lines.some((line) => line.msg === 'applying the reloaded configuration failed'), 'the failure to be logged');
    await writeFile(path, 'api:\n  qps: 6\n');
    await waitFor(() => calls === 2, 'the listener to be called again');
    assert.equal(watcher.current.api.qps, 6);
  });

  it('keeps the running configuration while the file is missing', async (t) => {
    const dir = await tempDir(t);
    const path = join(dir, 'flotilla.yaml');
    await writeFile(path, 'api:\n  qps: 5\n');
    const { watcher } = await startWatcher(t, path, EXPLICIT_ONLY);
    await rm(path);
    assert.equal(await watcher.reload(), 'unreadable');
    assert.equal(watcher.current.api.qps, 5);
    await writeFile(path, 'api:\n  qps: 7\n');
    assert.equal(await watcher.reload(), 'applied');
    assert.equal(watcher.current.api.qps, 7);
  });

  it('finds changes by polling when no file-system event arrives', async (t) => {
    const dir = await tempDir(t);
    const path = join(dir, 'flotilla.yaml');
    await writeFile(path, 'api:\n  qps: 1\n');
    // A debounce longer than the test's deadline: only the poll can deliver the change in time.
    const { watcher, changes } = await startWatcher(t, path, { debounceMs: 60_000, pollIntervalMs: 30 });
    await writeFile(path, 'api:\n  qps: 2\n');
    await waitFor(() => changes.length === 1, 'the poll to apply the change');
    assert.equal(watcher.current.api.qps, 2);
  });

  it('stops calling onChange after close()', async (t) => {
    const dir = await tempDir(t);
    const path = join(dir, 'flotilla.yaml');
    await writeFile(path, '');
    const { watcher, changes } = await startWatcher(t, path);
    watcher.close();
    await writeFile(path, 'api:\n  qps: 9\n');
    assert.equal(await watcher.reload(), 'unchanged');
    assert.equal(changes.length, 0);
    assert.equal(watcher.current.api.qps, 0);
  });
});
