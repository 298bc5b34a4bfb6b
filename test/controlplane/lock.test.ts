import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { acquireDirLock, isPidAlive, type LockOwner } from '../../src/controlplane/lock.ts';
import { waitFor } from '../../src/util/wait.ts';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'flotilla-lock-test-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function writeForeignLock(lockDir: string, owner: Partial<LockOwner>): Promise<void> {
  await mkdir(lockDir);
  const full: LockOwner = { pid: process.pid, hostname: hostname(), token: 'foreign', acquiredAt: new Date().toISOString(), ...owner };
  await writeFile(join(lockDir, 'owner.json'), JSON.stringify(full));
}

function deadPid(): number {
  const child = spawnSync('true');
  assert.equal(child.status, 0);
  assert.ok(child.pid && !isPidAlive(child.pid), 'the finished process is gone');
  return child.pid;
}

test('a second acquirer waits until the holder releases', async () => {
  const lockDir = join(root, 'serial.lock');
  const first = await acquireDirLock(lockDir);
  let waited = false;
  const second = acquireDirLock(lockDir, { pollMs: 20, onWait: () => (waited = true) });
  await waitFor(() => waited, { timeoutMs: 5000, description: 'the second acquirer to report waiting' });
  const ownerWhileHeld = JSON.parse(await readFile(join(lockDir, 'owner.json'), 'utf8')) as LockOwner;
  assert.equal(ownerWhileHeld.token, first.owner.token, 'the first holder still owns the lock');

  await first.release();
  const lock = await second;
  const ownerAfter = JSON.parse(await readFile(join(lockDir, 'owner.json'), 'utf8')) as LockOwner;
  assert.equal(ownerAfter.token, lock.owner.token);
  await lock.release();
  assert.equal(existsSync(lockDir), false, 'release removes the lock');
});

test('a lock whose owner process is gone is taken over without waiting', async () => {
  const lockDir = join(root, 'dead-owner.lock');
  await writeForeignLock(lockDir, { pid: deadPid() });
  let waited = false;
  const lock = await acquireDirLock(lockDir, { onWait: () => (waited = true) });
  assert.equal(waited, false);
  assert.equal(lock.owner.pid, process.pid);
  await lock.release();
});

test('a lock whose heartbeat stopped is taken over even if the pid looks alive', async () => {
  const lockDir = join(root, 'stale-heartbeat.lock');
  await writeForeignLock(lockDir, { pid: process.pid }); // alive, e.g. a reused pid
  const longAgo = new Date(Date.now() - 10 * 60_000);
  await utimes(join(lockDir, 'owner.json'), longAgo, longAgo);
  const lock = await acquireDirLock(lockDir, { staleAfterMs: 60_000 });
  assert.notEqual(lock.owner.token, 'foreign');
  await lock.release();
});

test('a live lock held from another host is waited for, and the wait can be aborted', async () => {
  const lockDir = join(root, 'other-host.lock');
  await writeForeignLock(lockDir, { pid: deadPid(), hostname: 'some-other-host' });
  const controller = new AbortController();
  let waited = false;
  const attempt = acquireDirLock(lockDir, { pollMs: 20, signal: controller.signal, onWait: () => (waited = true) });
  await waitFor(() => waited, { timeoutMs: 5000, description: 'the acquirer to wait on the foreign lock' });
  controller.abort();
  await assert.rejects(attempt, { name: 'AbortError' });
  await rm(lockDir, { recursive: true });
});

test('release never removes a lock that someone else now holds', async () => {
  const lockDir = join(root, 'stolen.lock');
  const first = await acquireDirLock(lockDir);
  // Simulate a waiter that (wrongly) judged it stale and took over.
  await rm(lockDir, { recursive: true });
  const second = await acquireDirLock(lockDir);
  await first.release();
  assert.ok(existsSync(lockDir), 'the second holder keeps its lock');
  await second.release();
  assert.equal(existsSync(lockDir), false);
});

test('the holder keeps its heartbeat fresh', async () => {
  const lockDir = join(root, 'heartbeat.lock');
  const lock = await acquireDirLock(lockDir, { heartbeatMs: 20 });
  const ownerFile = join(lockDir, 'owner.json');
  const old = new Date(Date.now() - 60_000);
  await utimes(ownerFile, old, old);
  await waitFor(async () => (await stat(ownerFile)).mtimeMs > Date.now() - 5000, { timeoutMs: 5000, description: 'the heartbeat to touch owner.json' });
  await lock.release();
});
