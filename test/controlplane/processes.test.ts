import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { isPidAlive } from '../../src/controlplane/lock.ts';
import { waitFor } from '../../src/util/wait.ts';

// Each case runs the supervisor in a separate Node process, kills or ends
// that process one way or another, and checks that its child and scratch
// directory are gone and its cleanup script ran (or, for release, that the
// child survives).

const FIXTURE = fileURLToPath(new URL('./fixtures/supervised-parent.ts', import.meta.url));

interface Started {
  parent: ChildProcess;
  pid: number;
  scratch: string;
  /** Written by the registered cleanup script. */
  marker: string;
  script: string;
}

async function startFixture(mode: string): Promise<Started> {
  const parent = spawn(process.execPath, [FIXTURE, mode], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  parent.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    parent.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const newline = out.indexOf('\n');
      if (newline >= 0) resolve(out.slice(0, newline));
    });
    parent.once('exit', (code) => {
      if (!out.includes('\n')) reject(new Error(`fixture exited (${code}) before reporting: ${stderr}`));
    });
  });
  const { pid, scratch, marker, script } = JSON.parse(line) as Omit<Started, 'parent'>;
  assert.ok(isPidAlive(pid), 'the supervised child runs');
  assert.ok(existsSync(scratch), 'the scratch dir exists');
  assert.ok(!existsSync(marker), 'the cleanup script has not run yet');
  return { parent, pid, scratch, marker, script };
}

/** Tell the fixture to do what its mode says. */
function go(started: Started): void {
  started.parent.stdin?.write('go\n');
}

async function expectCleanedUp({ pid, scratch, marker, script }: Started, how: string): Promise<void> {
  try {
    await waitFor(() => !isPidAlive(pid), { timeoutMs: 10_000, description: `child ${pid} to be killed after ${how}` });
    await waitFor(() => !existsSync(scratch), { timeoutMs: 10_000, description: `scratch dir ${scratch} to be removed after ${how}` });
    assert.ok(existsSync(marker), `the cleanup script ran after ${how}`);
  } finally {
    await Promise.all([marker, script].map((file) => rm(file, { force: true })));
  }
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

test('a normal exit kills supervised children and removes scratch dirs', async () => {
  const started = await startFixture('exit');
  go(started);
  assert.deepEqual(await exited(started.parent), { code: 0, signal: null });
  await expectCleanedUp(started, 'a normal exit');
});

test('an uncaught exception still cleans up', async () => {
  const started = await startFixture('throw');
  go(started);
  const status = await exited(started.parent);
  assert.equal(status.code, 1);
  await expectCleanedUp(started, 'a crash');
});

test('SIGTERM cleans up and the process still dies by the signal', async () => {
  const started = await startFixture('wait');
  started.parent.kill('SIGTERM');
  assert.deepEqual(await exited(started.parent), { code: null, signal: 'SIGTERM' });
  await expectCleanedUp(started, 'SIGTERM');
});

test('SIGINT cleans up and the process still dies by the signal', async () => {
  const started = await startFixture('wait');
  started.parent.kill('SIGINT');
  assert.deepEqual(await exited(started.parent), { code: null, signal: 'SIGINT' });
  await expectCleanedUp(started, 'SIGINT');
});

test('SIGKILL, which runs no hook, is covered by the reaper', async () => {
  const started = await startFixture('wait');
  started.parent.kill('SIGKILL');
  assert.deepEqual(await exited(started.parent), { code: null, signal: 'SIGKILL' });
  await expectCleanedUp(started, 'SIGKILL');
});

test('a released detached child outlives its starter', async () => {
  const started = await startFixture('release-and-exit');
  try {
    go(started);
    assert.deepEqual(await exited(started.parent), { code: 0, signal: null });
    // The scratch dir was not released: its removal shows the exit hook and
    // reaper did run, so the child's survival below is not luck.
    await waitFor(() => !existsSync(started.scratch), { timeoutMs: 10_000, description: 'the registered scratch dir to be removed' });
    assert.ok(isPidAlive(started.pid), 'the released child is still running');
    assert.ok(existsSync(started.marker), 'the cleanup script, not released either, ran');
  } finally {
    if (isPidAlive(started.pid)) process.kill(started.pid, 'SIGKILL');
    await Promise.all([started.scratch, started.marker, started.script].map((path) => rm(path, { recursive: true, force: true })));
  }
});
