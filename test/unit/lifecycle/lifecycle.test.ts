import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { ExitCode, Lifecycle, type LifecycleOptions } from '../../../src/runtime/lifecycle.ts';
import { runIsolated } from '../../../src/runtime/isolation.ts';
import { createRegistry } from '../../../src/observability/metrics.ts';
import { captureLogger, waitFor, type LogLine } from '../observability/test-helpers.ts';

/** A lifecycle wired to a fake process: signals are emitted by the test, exit is recorded. */
function harness(t: TestContext, options: Partial<LifecycleOptions> = {}) {
  const events = new EventEmitter();
  const exits: number[] = [];
  const { logger, lines } = captureLogger();
  const lifecycle = new Lifecycle({
    timeoutMs: 2_000,
    logger,
    exit: (code) => exits.push(code),
    processEvents: events,
    ...options,
  }).install();
  t.after(() => lifecycle.uninstall());
  return { events, exits, lines, lifecycle };
}

const messages = (lines: LogLine[]) => lines.map((line) => line.msg);

describe('Lifecycle shutdown', () => {
  it('on SIGTERM stops intake, runs the steps in order and exits 0', async (t) => {
    const { events, exits, lines, lifecycle } = harness(t);
    const order: string[] = [];
    let intakeStoppedFirst = false;
    lifecycle.stopping.addEventListener('abort', () => order.push('stop intake'));
    lifecycle
      .addStep('drain', async () => {
        intakeStoppedFirst = lifecycle.stopping.aborted;
        await new Promise((resolve) => setImmediate(resolve));
        order.push('drain');
      })
      .addStep('release lease', () => void order.push('release lease'))
      .addStep('close pool', async () => void order.push('close pool'))
      .addStep('close http', () => void order.push('close http'))
      .addStep('flush logs', () => void order.push('flush logs'));

    events.emit('SIGTERM', 'SIGTERM');
    const report = await lifecycle.shutdown('ignored: already started');
    assert.deepEqual(order, ['stop intake', 'drain', 'release lease', 'close pool', 'close http', 'flush logs']);
    assert.equal(intakeStoppedFirst, true);
    assert.equal(report.reason, 'SIGTERM');
    assert.equal(report.exitCode, ExitCode.Clean);
    assert.deepEqual(exits, [0]);
    assert.deepEqual(
      report.steps.map((s) => [s.name, s.outcome]),
      ['drain', 'release lease', 'close pool', 'close http', 'flush logs'].map((name) => [name, 'ok']),
    );
    // Each step is logged with its duration.
    const done = lines.filter((line) => line.step === 'drain' && line.msg === 'shutdown step "drain" done');
    assert.equal(done.length, 1);
    assert.equal(typeof done[0]?.durationMs, 'number');
    assert.ok(messages(lines).includes('shutdown complete'));
  });

  it('abandons a step that overruns its own timeout and carries on; exit code 1', async (t) => {
    const { exits, lines, lifecycle } = harness(t);
    let stepSignal: AbortSignal | undefined;
    const ran: string[] = [];
    lifecycle
      .addStep(
        'drain',
        (signal) => {
          stepSignal = signal;
          return new Promise(() => {});
        },
        { timeoutMs: 30 },
      )
      .addStep('release lease', () => void ran.push('release lease'));
    const report = await lifecycle.shutdown('test');
    assert.deepEqual(report.steps.map((s) => s.outcome), ['timed-out', 'ok']);
    assert.deepEqual(ran, ['release lease']);
    assert.equal(stepSignal?.aborted, true, 'the hanging step is told to give up');
    assert.deepEqual(exits, [ExitCode.Incomplete]);
    assert.ok(messages(lines).includes('shutdown step "drain" timed out; moving on'));
  });

  it('bounds the whole shutdown by the overall timeout, skipping what is left', async (t) => {
    const { exits, lines, lifecycle } = harness(t, { timeoutMs: 50 });
    const ran: string[] = [];
    lifecycle
      .addStep('drain', () => new Promise(() => {}))
      .addStep('release lease', () => void ran.push('release lease'))
      .addStep('close pool', () => void ran.push('close pool'));
    const started = performance.now();
    const report = await lifecycle.shutdown('test');
    assert.ok(performance.now() - started < 1_500, 'shutdown must not wait for the hanging step');
    assert.deepEqual(report.steps.map((s) => s.outcome), ['timed-out', 'skipped', 'skipped']);
    assert.deepEqual(ran, []);
    assert.deepEqual(exits, [ExitCode.Incomplete]);
    const skipped = lines.find((line) => line.msg.startsWith('shutdown budget exhausted'));
    assert.deepEqual(skipped?.skipped, ['release lease', 'close pool']);
  });

  it('logs a failing step and runs the next ones', async (t) => {
    const { exits, lines, lifecycle } = harness(t);
    const ran: string[] = [];
    lifecycle
      .addStep('release lease', async () => {
        throw new Error('API server unreachable');
      })
      .addStep('close pool', () => {
        throw new Error('sync failure');
      })
      .addStep('close http', () => void ran.push('close http'));
    const report = await lifecycle.shutdown('test');
    assert.deepEqual(ran, ['close http']);
    assert.deepEqual(
      report.steps.map((s) => [s.outcome, s.error]),
      [
        ['failed', 'API server unreachable'],
        ['failed', 'sync failure'],
        ['ok', undefined],
      ],
    );
    const failure = lines.find((line) => line.msg === 'shutdown step "release lease" failed; continuing');
    assert.equal((failure?.err as { message?: string } | undefined)?.message, 'API server unreachable');
    assert.deepEqual(exits, [ExitCode.Incomplete]);
  });

  it('exits at once with 130 on a second signal', async (t) => {
    const { events, exits, lines, lifecycle } = harness(t);
    let release: () => void = () => {};
    lifecycle.addStep('drain', () => new Promise<void>((resolve) => (release = resolve)));
    events.emit('SIGTERM', 'SIGTERM');
    await waitFor(() => lines.some((line) => line.msg === 'shutdown started'), 'shutdown to start');
    events.emit('SIGINT', 'SIGINT');
    assert.deepEqual(exits, [ExitCode.Forced]);
    assert.ok(messages(lines).includes('received SIGINT again during shutdown: exiting immediately'));
    // The graceful path finishing later must not exit a second time.
    release();
    await lifecycle.shutdown('again');
    assert.deepEqual(exits, [ExitCode.Forced]);
  });

  it('shutdown() is idempotent and rejects steps added afterwards', async (t) => {
    const { exits, lifecycle } = harness(t);
    let runs = 0;
    lifecycle.addStep('drain', () => void (runs += 1));
    const [a, b] = await Promise.all([lifecycle.shutdown('first'), lifecycle.shutdown('second')]);
    assert.equal(a, b);
    assert.equal(a.reason, 'first');
    assert.equal(runs, 1);
    assert.deepEqual(exits, [0]);
    assert.throws(() => lifecycle.addStep('late', () => {}), /shutdown already started/);
  });

  it('keeps a requested exit code', async (t) => {
    const { exits, lifecycle } = harness(t);
    const report = await lifecycle.shutdown('leader election lost', { exitCode: 3 });
    assert.equal(report.exitCode, 3);
    assert.deepEqual(exits, [3]);
  });

  it('uninstall() stops listening', (t) => {
    const { events, lifecycle } = harness(t);
    assert.equal(events.listenerCount('SIGTERM'), 1);
    lifecycle.uninstall();
    assert.equal(events.listenerCount('SIGTERM'), 0);
    assert.equal(events.listenerCount('uncaughtException'), 0);
    assert.equal(lifecycle.shuttingDown, false);
  });
});

describe('Lifecycle process errors', () => {
  it('logs an error escaping a reconcile with its tags and carries on', (t) => {
    const registry = createRegistry({ defaultMetrics: false });
    const { events, exits, lines, lifecycle } = harness(t, { registry });
    // Emitted inside the isolation scope, as Node does for a timer or promise created by the reconcile.
    runIsolated({ controller: 'bundle', key: 'ws-a/app', reconcileID: 'r-1' }, () => {
      events.emit('uncaughtException', new Error('bug in reconcile'));
      events.emit('unhandledRejection', new Error('forgotten promise'));
    });
    assert.equal(lifecycle.shuttingDown, false);
    assert.deepEqual(exits, []);
    const logged = lines.filter((line) => line.key === 'ws-a/app');
    assert.deepEqual(
      logged.map((line) => line.msg),
      [
        'uncaught exception in a reconcile: the reconcile failed, the controller carries on',
        'unhandled promise rejection in a reconcile: the reconcile failed, the controller carries on',
      ],
    );
    assert.equal(logged[0]?.controller, 'bundle');
    return registry.metrics().then((text) => {
      assert.match(text, /flotilla_unhandled_errors_total\{kind="exception",isolated="true"\} 1/);
    });
  });

  it('shuts down gracefully with exit code 70 for an error outside any reconcile', async (t) => {
    const { events, exits, lines, lifecycle } = harness(t);
    const ran: string[] = [];
    lifecycle.addStep('release lease', () => void ran.push('release lease'));
    events.emit('uncaughtException', new Error('reflector bug'));
    assert.equal(lifecycle.shuttingDown, true);
    const report = await lifecycle.shutdown('ignored');
    assert.equal(report.exitCode, ExitCode.InternalError);
    assert.deepEqual(ran, ['release lease']);
    assert.deepEqual(exits, [70]);
    const fatal = lines.find((line) => line.msg === 'uncaught exception outside any reconcile: shutting down');
    assert.equal(fatal?.level, 'fatal');
  });

  it('an unhandled rejection outside any reconcile also shuts down', async (t) => {
    const { events, exits, lifecycle } = harness(t);
    events.emit('unhandledRejection', new Error('queue bug'));
    const report = await lifecycle.shutdown('ignored');
    assert.equal(report.reason, 'unhandled promise rejection');
    assert.deepEqual(exits, [70]);
  });
});

describe('Lifecycle in a real process', () => {
  const NODE = new URL('../../../node_modules/.bin/node', import.meta.url).pathname;
  const CHILD = new URL('./fixtures/lifecycle-child.ts', import.meta.url).pathname;

  /** Spawns the fixture, waits until it is ready, applies `act`, and collects its exit code and log lines. */
  async function runChild(mode: string, act: (child: ReturnType<typeof spawn>, lines: LogLine[]) => Promise<void>) {
    const child = spawn(NODE, [CHILD, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: LogLine[] = [];
    let stderr = '';
    let buffer = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      const parts = buffer.split('\n');
      buffer = parts.pop() ?? '';
      for (const part of parts) if (part.trim() !== '') lines.push(JSON.parse(part) as LogLine);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await waitFor(() => lines.some((line) => line.msg === 'ready'), `the child to be ready (stderr: ${stderr})`, 15_000);
      await act(child, lines);
      const code = await exited;
      return { code, lines, stderr };
    } finally {
      child.kill('SIGKILL');
    }
  }

  it('exits 0 after SIGTERM, running the steps in order', async () => {
    const { code, lines, stderr } = await runChild('graceful', async (child) => void child.kill('SIGTERM'));
    assert.equal(code, 0, stderr);
    const stepsDone = lines.filter((line) => typeof line.msg === 'string' && line.msg.endsWith('done') && line.step !== undefined);
    assert.deepEqual(
      stepsDone.map((line) => line.step),
      ['stop reconciling and drain', 'release lease', 'close pool', 'close http', 'flush logs'],
    );
    assert.equal(lines.find((line) => line.msg === 'shutdown complete')?.exitCode, 0);
  });

  it('exits 130 at once on a second signal', async () => {
    const { code } = await runChild('hang', async (child, lines) => {
      child.kill('SIGTERM');
      await waitFor(() => lines.some((line) => line.msg === 'shutdown started'), 'the graceful shutdown to start');
      child.kill('SIGTERM');
    });
    assert.equal(code, 130);
  });
});
