import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { ApiError } from '../../../src/runtime/errors.ts';
import { componentLogger, createLogger, levelAtLeast } from '../../../src/observability/logger.ts';
import { serializeError } from '../../../src/observability/error-fields.ts';
import { formatTextLine } from '../../../src/observability/text-format.ts';
import { RepeatLimiter, repeatKey } from '../../../src/observability/repeat-limiter.ts';
import { createRegistry } from '../../../src/observability/metrics.ts';
import { ManualClock } from '../../../src/runtime/actors/manual-clock.ts';
import { InformerFactory } from '../../../src/runtime/informer/informer-factory.ts';
import { builtinTypes } from '../../../src/runtime/kube/resource.ts';
import { runFor } from '../support/manual-time.ts';
import { InMemoryListerWatcher } from '../informer/in-memory-lister-watcher.ts';
import { SelectorMatchPool } from '../../../src/runtime/pool/selector-match-pool.ts';
import { captureLogger, duplicateKeys } from './test-helpers.ts';

function textCapture(): { destination: Writable; text: string[] } {
  const text: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      text.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
      callback();
    },
  });
  return { destination, text };
}

test('levels are names, not pino numbers', () => {
  const { logger, lines } = captureLogger('trace');
  logger.info('a');
  logger.warn('b');
  logger.fatal('c');
  assert.deepEqual(lines.map((l) => l.level), ['info', 'warn', 'fatal']);
  assert.equal(levelAtLeast('warn', 'warn'), true);
  assert.equal(levelAtLeast('fatal', 'error'), true);
  assert.equal(levelAtLeast('info', 'warn'), false);
  assert.equal(levelAtLeast(40, 'warn'), false, 'a numeric level is not a name: callers must not pass pino numbers');
});

test('duplicateKeys finds a key bound twice, and only top-level keys', () => {
  assert.deepEqual(duplicateKeys('{"component":"pool","a":{"component":"x"},"component":"selector-pool"}'), ['component']);
  assert.deepEqual(duplicateKeys('{"msg":"say \\"component\\":","component":"a","nested":{"msg":1}}'), []);
});

test('componentLogger binds component once; a nested part goes under subcomponent', () => {
  const { logger, lines } = captureLogger();
  const pool = componentLogger(logger, 'pool');
  componentLogger(pool, 'selector-pool').info('nested');
  componentLogger(componentLogger(pool, 'selector-pool'), 'replica').info('deeper');
  componentLogger(pool, 'pool').info('same');
  assert.deepEqual(
    lines.map((l) => [l.msg, l.component, l.subcomponent]),
    [['nested', 'pool', 'selector-pool'], ['deeper', 'pool', 'selector-pool'], ['same', 'pool', undefined]],
  );
});

test('the real pool and reflector child loggers, under the manager\'s component loggers, write lines with unique keys', async () => {
  const { logger, lines } = captureLogger();
  // As the Manager builds them: the pool gets the manager's logger and names itself;
  // reflectors get the informer component's logger and bind their own name.
  const pool = new SelectorMatchPool({ threads: 1, maxQueue: 16, registry: createRegistry({ defaultMetrics: false }), logger });
  await pool.close();
  const fromPool = lines.filter((l) => l.component === 'selector-pool');
  assert.deepEqual(fromPool.map((l) => l.msg), ['selector pool generation started', 'selector pool closed']);
  const clock = new ManualClock(0);
  const api = new InMemoryListerWatcher(clock, []);
  api.down = true;
  const factory = new InformerFactory({
    client: api,
    registry: createRegistry({ defaultMetrics: false }),
    clock,
    logger: componentLogger(logger, 'informer'),
    reflectorBackoff: { initialMs: 200, maxMs: 1000, resetAfterMs: 5000, jitter: 0 },
  });
  factory.for(builtinTypes.configMap);
  factory.start();
  await runFor(clock, 1_000);
  await factory.stop();
  const fromReflector = lines.filter((l) => l.reflector === 'configmaps');
  assert.ok(fromReflector.length >= 2, `the problem line and the reflector's own: ${JSON.stringify(lines)}`);
  for (const line of fromReflector) assert.equal(line.component, 'informer');
  assert.ok(!lines.some((l) => 'source' in l), 'the reflector is named by one key, `reflector`');
  const problem = fromReflector.find((l) => l.level === 'error');
  assert.match(String(problem?.msg), /cannot reach the API server/);
  const retry = fromReflector.find((l) => l.level === 'debug' && l.err !== undefined);
  assert.deepEqual(Object.keys(retry?.err as object).sort(), ['code', 'message', 'stack', 'type'], 'the standard err shape, not {message, code, statusCode}');
  // captureLogger fails the write of any line with a duplicate key: reaching here is that check.
});

test('err has one shape: an Error, an API error, a string and an error-like object', () => {
  const { logger, lines } = captureLogger();
  const plain = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443', { cause: new Error('socket closed') }), { code: 'ECONNREFUSED' });
  logger.error({ err: plain }, 'plain');
  const api = new ApiError({
    statusCode: 403,
    reason: 'Forbidden',
    message: 'leases.coordination.k8s.io "flotilla" is forbidden',
    verb: 'get',
    resource: 'leases.coordination.k8s.io',
    body: { kind: 'Status', status: 'Failure', reason: 'Forbidden', code: 403, message: 'forbidden' },
  });
  logger.warn({ err: api }, 'api');
  logger.warn({ err: 'just text' }, 'string');
  logger.warn({ err: { message: 'from a worker', stack: '' } }, 'error-like');

  const [p, a, s, e] = lines.map((l) => l.err as Record<string, unknown>);
  assert.equal(p?.type, 'Error');
  assert.match(String(p?.message), /^connect ECONNREFUSED 127\.0\.0\.1:6443: socket closed$/);
  assert.match(String(p?.stack), /caused by: Error: socket closed/);
  assert.equal(p?.code, 'ECONNREFUSED');

  assert.equal(a?.type, 'ApiError');
  assert.equal(a?.status, 403);
  assert.equal(a?.reason, 'Forbidden');
  assert.equal(a?.code, 403);
  assert.equal(a?.verb, 'get');
  assert.equal(typeof a?.stack, 'string');
  assert.equal(a?.body, undefined, 'the Status body is summarised, not copied');
  assert.equal(a?.name, undefined, 'type says it');

  assert.deepEqual(s, { type: 'string', message: 'just text' });
  assert.deepEqual(e, { type: 'Error', message: 'from a worker' }, 'no empty stack');
});

test('a client-node ApiException: status, reason and code from the Status body, the Status message', () => {
  class ApiException extends Error {
    code: number;
    body: unknown;
    headers: Record<string, string>;
    constructor(code: number, message: string, body: unknown, headers: Record<string, string>) {
      super(message);
      this.code = code;
      this.body = body;
      this.headers = headers;
    }
  }
  const body = JSON.stringify({ kind: 'Status', status: 'Failure', reason: 'NotFound', code: 404, message: 'namespaces "x" not found' });
  const serialized = serializeError(new ApiException(404, `HTTP-Code: 404\nMessage: Unknown API Status Code!\nBody: ${body}\nHeaders: {}`, body, {}));
  assert.equal(serialized.type, 'ApiException');
  assert.equal(serialized.message, 'HTTP 404: namespaces "x" not found');
  assert.equal(serialized.status, 404);
  assert.equal(serialized.reason, 'NotFound');
  assert.equal(serialized.code, 404);
  assert.equal(serialized.headers, undefined);
});

test('a failure warned about again within the interval is counted, then logged again with how often it repeated', () => {
  let now = 0;
  const { logger, lines } = captureLogger('debug', { repeatIntervalMs: 60_000, now: () => now });
  const election = componentLogger(logger, 'leader-election');
  for (let i = 0; i < 13; i++) {
    election.warn({ err: new Error(`attempt ${i}`), retryInMs: 2000 * i }, 'error retrieving lease');
    now += 2_500; // 13 retries in 32.5 s: one line
  }
  assert.deepEqual(lines.map((l) => [l.msg, l.repeated]), [['error retrieving lease', undefined]]);
  now = 61_000;
  election.warn({ err: new Error('again') }, 'error retrieving lease');
  assert.deepEqual(lines.map((l) => [l.msg, l.repeated]), [['error retrieving lease', undefined], ['error retrieving lease', 12]]);
  election.warn(new Error('an Error as the first argument counts the same'), 'error retrieving lease');
  assert.equal(lines.length, 2);

  // Another message, another logger's bindings or another subject is another warning.
  election.warn({ err: new Error('x') }, 'error creating lease');
  componentLogger(logger, 'heartbeat').warn({ err: new Error('x') }, 'error retrieving lease');
  logger.warn({ err: new Error('x'), object: 'a/b' }, 'could not record event');
  logger.warn({ err: new Error('x'), object: 'a/c' }, 'could not record event');
  assert.equal(lines.length, 6);
  // Warnings about events (no error) and other levels are logged every time (errors about API problems have problem-log.ts).
  logger.warn({ threadId: 3, generation: 1 }, 'selector pool worker died; replacing it');
  logger.warn({ threadId: 3, generation: 1 }, 'selector pool worker died; replacing it');
  logger.error({ err: new Error('boom') }, 'boom');
  logger.error({ err: new Error('boom') }, 'boom');
  assert.equal(lines.length, 10);
});

test('repeatKey: what a warning is about counts, what varies per retry does not', () => {
  assert.equal(repeatKey('b', 'm', { err: 'x', retryInMs: 1, attempt: 2, workspace: 'w' }), repeatKey('b', 'm', { err: 'y', retryInMs: 9, attempt: 3, workspace: 'w' }));
  assert.notEqual(repeatKey('b', 'm', { threadId: 1 }), repeatKey('b', 'm', { threadId: 2 }));
  assert.notEqual(repeatKey('b', 'm', { workspace: 'a' }), repeatKey('b', 'm', { workspace: 'b' }));
});

test('RepeatLimiter forgets the oldest keys beyond its bound', () => {
  let now = 0;
  const limiter = new RepeatLimiter({ intervalMs: 1_000, now: () => now, maxKeys: 2 });
  assert.equal(limiter.admit('a'), 0);
  assert.equal(limiter.admit('a'), false);
  now = 10;
  assert.equal(limiter.admit('b'), 0);
  assert.equal(limiter.admit('c'), 0); // 'a' is forgotten
  assert.equal(limiter.admit('a'), 0, 'forgotten: logged as new');
  now = 2_000;
  assert.equal(limiter.admit('c'), 0);
});

test('text format: time, level, component, message, then key=value; errors as type and message', () => {
  const { destination, text } = textCapture();
  const logger = createLogger({ format: 'text', destination, level: 'info' });
  componentLogger(logger, 'leader-election').child({ lease: 'flotilla-system/flotilla' }).info({ identity: 'host_1', renewDeadlineMs: 10_000 }, 'became leader');
  logger.warn({ err: new ApiError({ statusCode: 503, reason: 'ServiceUnavailable', message: 'etcd down', verb: 'get', resource: 'leases' }), paths: ['/metrics'] }, 'error retrieving lease');
  assert.equal(text.length, 2);
  assert.match(text[0]!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO  leader-election became leader lease=flotilla-system\/flotilla identity=host_1 renewDeadlineMs=10000$/);
  assert.match(text[1]!, /^\S+ WARN  error retrieving lease err="ApiError: get leases: 503 ServiceUnavailable: etcd down \(status 503, ServiceUnavailable\)" paths=\["\/metrics"\]$/);
  assert.equal(formatTextLine('not json'), 'not json\n');
  assert.equal(
    formatTextLine('{"level":"info","time":"t","pid":1,"name":"flotilla-agent","deploymentNamespace":"ns 1","ready":true,"count":2,"msg":"agent started"}'),
    't INFO  agent started deploymentNamespace="ns 1" ready=true count=2\n',
  );
});
