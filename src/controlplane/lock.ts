import { readFileSync } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

/**
 * A cross-process mutex built on `mkdir`, which is atomic on every local
 * filesystem: whoever creates the directory holds the lock.
 *
 * The holder records who it is in `owner.json` and touches that file on a
 * heartbeat. A waiter treats the lock as abandoned when the owner's pid is
 * gone (same host) or the heartbeat is older than `staleAfterMs` (pid reuse,
 * another host sharing the cache, a frozen owner). Callers must still make
 * their critical section safe to run twice (e.g. publish results with an
 * atomic rename): breaking a stale lock has an unavoidable race window, and
 * the lock exists to avoid wasted work, not to guarantee correctness.
 */

export interface LockOwner {
  pid: number;
  hostname: string;
  token: string;
  acquiredAt: string;
}

export interface DirLock {
  readonly path: string;
  readonly owner: LockOwner;
  release(): Promise<void>;
}

export interface AcquireDirLockOptions {
  /** How often a waiter re-checks the lock. */
  pollMs?: number;
  /** Heartbeat age after which a lock is abandoned even if its pid looks alive. */
  staleAfterMs?: number;
  /** How often the holder refreshes its heartbeat. */
  heartbeatMs?: number;
  /** Called when the lock is busy, then about every `waitReportMs` while waiting. */
  onWait?: (owner: LockOwner | undefined, waitedMs: number) => void;
  waitReportMs?: number;
  signal?: AbortSignal;
}

const OWNER_FILE = 'owner.json';

export async function acquireDirLock(lockDir: string, options: AcquireDirLockOptions = {}): Promise<DirLock> {
  const pollMs = options.pollMs ?? 1000;
  const heartbeatMs = options.heartbeatMs ?? 10_000;
  const staleAfterMs = options.staleAfterMs ?? Math.max(60_000, heartbeatMs * 6);
  const waitReportMs = options.waitReportMs ?? 30_000;
  const startedWaiting = Date.now();
  let lastReport = -Infinity;

  await mkdir(dirname(lockDir), { recursive: true });
  for (;;) {
    options.signal?.throwIfAborted();
    const owner: LockOwner = { pid: process.pid, hostname: hostname(), token: randomUUID(), acquiredAt: new Date().toISOString() };
    try {
      await mkdir(lockDir);
    } catch (error) {
      if (!isErrno(error, 'EEXIST')) throw error;
      const current = await readOwner(lockDir);
      if (await isAbandoned(lockDir, current, staleAfterMs)) {
        await breakLock(lockDir, current);
        continue;
      }
      const waited = Date.now() - startedWaiting;
      if (waited - lastReport >= waitReportMs) {
        lastReport = waited;
        options.onWait?.(current, waited);
      }
      await delay(pollMs, undefined, options.signal ? { signal: options.signal } : {});
      continue;
    }
    await writeFile(join(lockDir, OWNER_FILE), JSON.stringify(owner));
    return holdLock(lockDir, owner, heartbeatMs);
  }
}

function holdLock(lockDir: string, owner: LockOwner, heartbeatMs: number): DirLock {
  const ownerFile = join(lockDir, OWNER_FILE);
  const heartbeat = setInterval(() => {
    const now = new Date();
    utimes(ownerFile, now, now).catch(() => {
      // A vanished owner file means someone broke the lock; release() copes.
    });
  }, heartbeatMs);
  heartbeat.unref();
  let released = false;
  return {
    path: lockDir,
    owner,
    async release() {
      if (released) return;
      released = true;
      clearInterval(heartbeat);
      // Only remove the directory if it is still ours: after a (wrongly)
      // broken lock another process may hold it now.
      const current = await readOwner(lockDir);
      if (current?.token === owner.token) await rm(lockDir, { recursive: true, force: true });
    },
  };
}

async function readOwner(lockDir: string): Promise<LockOwner | undefined> {
  try {
    const parsed: unknown = JSON.parse(await readFile(join(lockDir, OWNER_FILE), 'utf8'));
    if (isLockOwner(parsed)) return parsed;
  } catch {
    // Missing or half-written: the holder is between mkdir and writeFile.
  }
  return undefined;
}

async function isAbandoned(lockDir: string, owner: LockOwner | undefined, staleAfterMs: number): Promise<boolean> {
  // The owner file's mtime is the heartbeat; without an owner file, the
  // directory's own mtime tells how long ago the holder created it.
  const heartbeatAt = await mtimeMs(owner ? join(lockDir, OWNER_FILE) : lockDir);
  if (heartbeatAt === undefined) return false; // vanished: the next mkdir decides
  if (Date.now() - heartbeatAt > staleAfterMs) return true;
  if (owner && owner.hostname === hostname()) return !isPidAlive(owner.pid);
  return false;
}

/**
 * Move the abandoned lock aside under a unique name (atomic, so only one
 * waiter wins), then check that what was moved is the lock we judged
 * abandoned. If a live holder re-created it in between, put it back.
 */
async function breakLock(lockDir: string, judged: LockOwner | undefined): Promise<void> {
  const tombstone = `${lockDir}.stale-${process.pid}-${randomUUID()}`;
  try {
    await rename(lockDir, tombstone);
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return;
    throw error;
  }
  const moved = await readOwner(tombstone);
  if (moved && judged && moved.token !== judged.token) {
    try {
      await rename(tombstone, lockDir);
      return;
    } catch {
      // Someone else created a fresh lock meanwhile; the moved holder's
      // release() will notice it no longer owns lockDir.
    }
  }
  await rm(tombstone, { recursive: true, force: true });
}

export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: the pid exists but belongs to another user.
    return isErrno(error, 'EPERM');
  }
  // kill(pid, 0) also succeeds on a zombie: dead, waiting for a parent (or
  // a slow init) to reap it.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc: trust kill()
  }
}

async function mtimeMs(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).mtimeMs;
  } catch {
    return undefined;
  }
}

function isLockOwner(value: unknown): value is LockOwner {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.pid === 'number' && typeof v.hostname === 'string' && typeof v.token === 'string' && typeof v.acquiredAt === 'string';
}

export function isErrno(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}
