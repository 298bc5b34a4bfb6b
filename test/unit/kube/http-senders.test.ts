import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { FlotillaConfigSchema } from '../../../src/config/schema.ts';
import { isServerUnavailable } from '../../../src/runtime/errors.ts';
import { API_TRANSPORTS, DEFAULT_API_TRANSPORT, readableBody } from '../../../src/runtime/kube/http-sender.ts';
import { http2Failure, http2RequestHeaders } from '../../../src/runtime/kube/http2-session.ts';

test('HTTP/2 request headers: pseudo-headers first, lower-case names, no connection-specific fields', () => {
  const url = new URL('https://10.96.0.1:443/prefix/api/v1/namespaces/a/configmaps?labelSelector=x%3Dy&limit=500');
  const headers = http2RequestHeaders(
    'PATCH',
    url,
    { Authorization: 'Bearer t', Accept: 'application/json', 'Content-Type': 'application/apply-patch+yaml', Connection: 'keep-alive', 'Keep-Alive': 'timeout=5', Host: 'x', 'Transfer-Encoding': 'chunked' },
    42,
  );
  assert.deepEqual(headers, {
    ':method': 'PATCH',
    ':scheme': 'https',
    ':authority': '10.96.0.1', // WHATWG URLs drop the default port
    ':path': '/prefix/api/v1/namespaces/a/configmaps?labelSelector=x%3Dy&limit=500',
    authorization: 'Bearer t',
    accept: 'application/json',
    'content-type': 'application/apply-patch+yaml',
    'content-length': '42',
  });
  assert.equal(Object.keys(headers)[0], ':method');
});

test('HTTP/2 request headers: no content-length without a body; http:// is scheme http', () => {
  const headers = http2RequestHeaders('GET', new URL('http://localhost:8080/api'), { 'User-Agent': 'flotilla' }, undefined);
  assert.deepEqual(headers, { ':method': 'GET', ':scheme': 'http', ':authority': 'localhost:8080', ':path': '/api', 'user-agent': 'flotilla' });
});

test('Node HTTP/2 errors become transient connection resets; others pass unchanged', () => {
  const goaway = Object.assign(new Error('New streams cannot be created after receiving a GOAWAY'), { code: 'ERR_HTTP2_GOAWAY_SESSION' });
  const mapped = http2Failure(goaway);
  assert.equal((mapped as { code?: string }).code, 'ECONNRESET');
  assert.equal(mapped.cause, goaway);
  assert.ok(isServerUnavailable(mapped));
  const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
  assert.equal(http2Failure(refused), refused);
});

test('api.transport in the schema offers exactly the transports the client knows, defaulting to DEFAULT_API_TRANSPORT', () => {
  const field = (FlotillaConfigSchema.properties.api.properties.transport as unknown as { enum: string[]; default: string });
  assert.deepEqual([...field.enum].sort(), [...API_TRANSPORTS].sort());
  assert.equal(field.default, DEFAULT_API_TRANSPORT);
});

function body(signal?: AbortSignal) {
  const stream = new PassThrough();
  let cancelled = 0;
  const b = readableBody(stream, { cancel: () => cancelled++, signal, toError: (err) => Object.assign(new Error(`mapped: ${(err as Error).message}`), { code: 'ECONNRESET' }) });
  return { stream, b, cancelled: () => cancelled };
}

test('a response body delivers its chunks and resolves at its end', async () => {
  const { stream, b } = body();
  const chunks: string[] = [];
  const reading = b.read((c) => chunks.push(c.toString()));
  stream.write('a');
  stream.end('b');
  await reading;
  assert.deepEqual(chunks, ['a', 'b']);
});

test('a body that fails before read() is called keeps the failure for read()', async () => {
  const { stream, b } = body();
  stream.destroy(new Error('socket hang up'));
  await new Promise((r) => setImmediate(r));
  await assert.rejects(b.read(() => {}), /mapped: socket hang up/);
});

test('a body closed before its end rejects as a connection reset', async () => {
  const { stream, b } = body();
  const reading = b.read(() => {});
  stream.write('partial');
  stream.destroy();
  await assert.rejects(reading, (err: { code?: string }) => err.code === 'ECONNRESET');
});

test('an abort cancels the body on the wire and rejects read() with the reason', async () => {
  const abort = new AbortController();
  const { b, cancelled } = body(abort.signal);
  const reading = b.read(() => {});
  const reason = Object.assign(new Error('idle'), { code: 'ETIMEDOUT' });
  abort.abort(reason);
  await assert.rejects(reading, (err) => err === reason);
  assert.equal(cancelled(), 1);
});

test('a consumer that throws cancels the body and rejects read() with its error', async () => {
  const { stream, b, cancelled } = body();
  const reading = b.read(() => {
    throw new Error('undecodable event');
  });
  stream.write('x');
  await assert.rejects(reading, /undecodable event/);
  assert.equal(cancelled(), 1);
});
