import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ReconnectProbe, type Reachable } from '../../../src/agent/reconnect.ts';
import { silentLogger } from '../../../src/observability/logger.ts';
import { isServerUnavailable, ApiError } from '../../../src/runtime/errors.ts';
import { waitFor } from '../../../src/util/wait.ts';

function target(up: () => boolean) {
  const t = {
    server: 'https://x',
    probes: 0,
    async request<T>(): Promise<T> {
      t.probes++;
      if (!up()) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      return { major: '1' } as T;
    },
  };
  return t;
}

describe('ReconnectProbe', () => {
  it('re-enqueues the waiting keys once every server answers, and probes only while something waits', async () => {
    let upstreamUp = true;
    let downstreamUp = false;
    const upstream = target(() => upstreamUp);
    const downstream = target(() => downstreamUp);
    const probe = new ReconnectProbe({ targets: [upstream, downstream], intervalMs: 5, logger: silentLogger });
    const emitted: Reachable[] = [];
    probe.events.subscribe((e) => emitted.push(e));
    probe.start();
    probe.waitFor('ns/a');
    probe.waitFor('ns/b');
    probe.waitFor('ns/a');
    await waitFor(() => (downstream.probes >= 3 ? true : undefined), { timeoutMs: 5000, description: 'probes while down' });
    assert.equal(emitted.length, 0, 'nothing while a server is down');
    upstreamUp = false;
    downstreamUp = true;
    const mark = upstream.probes;
    await waitFor(() => (upstream.probes >= mark + 3 ? true : undefined), { timeoutMs: 5000, description: 'more probes' });
    assert.equal(emitted.length, 0, 'both must answer');
    upstreamUp = true;
    await waitFor(() => (emitted.length > 0 ? true : undefined), { timeoutMs: 5000, description: 'the keys released' });
    assert.deepEqual(emitted, [{ keys: ['ns/a', 'ns/b'] }]);
    const probesAfter = downstream.probes;
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(downstream.probes, probesAfter, 'no probing while nothing waits');
    await probe.stop();
  });

  it('ends the retry waits of reflectors once the servers answer', async () => {
    let up = false;
    const server = target(() => up);
    let retrying = true;
    let woken = 0;
    const watches = { retrying: () => retrying, retryNow: () => { woken++; retrying = false; } };
    const probe = new ReconnectProbe({ targets: [server], watches: [watches], intervalMs: 5, logger: silentLogger });
    probe.start();
    await waitFor(() => (server.probes >= 2 ? true : undefined), { timeoutMs: 5000, description: 'probes while a watch waits' });
    assert.equal(woken, 0);
    up = true;
    await waitFor(() => (woken > 0 ? true : undefined), { timeoutMs: 5000, description: 'the watches woken' });
    assert.equal(woken, 1);
    await probe.stop();
  });

  it('tells an unavailable server from a bad request', () => {
    const api = (statusCode: number) => new ApiError({ statusCode, message: 'x', verb: 'patch', resource: 'configmaps' });
    assert.equal(isServerUnavailable(api(503)), true);
    assert.equal(isServerUnavailable(api(504)), true);
    assert.equal(isServerUnavailable(api(429)), true);
    assert.equal(isServerUnavailable(api(422)), false);
    assert.equal(isServerUnavailable(api(403)), false);
    assert.equal(isServerUnavailable(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })), true);
    assert.equal(isServerUnavailable(new Error('bug')), false);
  });
});
