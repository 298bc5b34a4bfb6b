import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Condition } from '../../../src/api/condition.ts';
import { bundleTransitions, clusterTransitions, PAUSED_MESSAGE_PREFIX } from '../../../src/placement/transitions.ts';

const T = '2026-01-01T00:00:00Z';
const cond = (type: string, status: 'True' | 'False' | 'Unknown', reason: string, message = ''): Condition => ({ type, status, reason, message, lastTransitionTime: T });
const st = (...conditions: Condition[]) => ({ conditions });
const reasons = (events: readonly { reason: string }[]) => events.map((e) => e.reason);

describe('bundleTransitions', () => {
  it('Ready when the Ready condition turns True (first status included), with its message', () => {
    const events = bundleTransitions(st(cond('Ready', 'False', 'Pending', '0/2 clusters ready')), st(cond('Ready', 'True', 'Ready', '2/2 clusters ready')));
    assert.deepEqual(events, [{ type: 'Normal', reason: 'Ready', note: '2/2 clusters ready' }]);
    assert.deepEqual(reasons(bundleTransitions(undefined, st(cond('Ready', 'True', 'Ready', '1/1 clusters ready')))), ['Ready']);
    // Targeting nothing is Ready with nothing to wait for: not announced.
    const nothing = { ...st(cond('Ready', 'True', 'Ready', '0/0 clusters ready (no Cluster is targeted)')), summary: { desiredReady: 0 } };
    assert.deepEqual(bundleTransitions(st(cond('Ready', 'False', 'Pending')), nothing), []);
  });

  it('NotReady when it stops being Ready, unless for invalid input (a Warning says that)', () => {
    const ready = st(cond('Ready', 'True', 'Ready', '2/2 clusters ready'));
    assert.deepEqual(bundleTransitions(ready, st(cond('Ready', 'False', 'ErrApplied', '1/2 clusters ready'))), [
      { type: 'Normal', reason: 'NotReady', note: 'ErrApplied: 1/2 clusters ready' },
    ]);
    assert.deepEqual(bundleTransitions(ready, st(cond('Ready', 'False', 'InvalidResources', 'bad'))), []);
  });

  it('nothing when the status holds: same status, or only the message or counts moved', () => {
    const a = st(cond('Ready', 'False', 'Pending', '0/2 clusters ready'));
    assert.deepEqual(bundleTransitions(a, a), []);
    assert.deepEqual(bundleTransitions(a, st(cond('Ready', 'False', 'NotReady', '1/2 clusters ready'))), []);
    const r = st(cond('Ready', 'True', 'Ready', '2/2 clusters ready'));
    assert.deepEqual(bundleTransitions(r, st(cond('Ready', 'True', 'Ready', '3/3 clusters ready'))), []);
  });

  it('Paused and Resumed from the Ready message the paused Bundle gets, not announced as Ready changes', () => {
    const running = st(cond('Ready', 'True', 'Ready', '2/2 clusters ready'));
    const paused = st(cond('Ready', 'True', 'Ready', `${PAUSED_MESSAGE_PREFIX}2/2 clusters ready`));
    assert.deepEqual(reasons(bundleTransitions(running, paused)), ['Paused']);
    assert.deepEqual(reasons(bundleTransitions(paused, running)), ['Resumed']);
    assert.deepEqual(bundleTransitions(paused, paused), []);
    // The first status of a Bundle created paused announces no pausing: nothing changed.
    assert.deepEqual(reasons(bundleTransitions(undefined, paused)), ['Ready']);
    assert.equal(bundleTransitions(undefined, paused)[0]!.note, '2/2 clusters ready');
  });

  it('RolledOut when a held rollout (Rollout False) completes', () => {
    const held = st(cond('Ready', 'False', 'OutOfSync'), cond('Rollout', 'False', 'MaxUnavailable', '1 of 3 clusters updated'));
    const done = st(cond('Ready', 'False', 'WaitApplied'), cond('Rollout', 'True', 'RolledOut', 'no update is held by maxUnavailable; 3 of 3 clusters updated'));
    assert.deepEqual(bundleTransitions(held, done), [{ type: 'Normal', reason: 'RolledOut', note: 'no update is held by maxUnavailable; 3 of 3 clusters updated' }]);
    assert.deepEqual(bundleTransitions(done, done), []);
  });
});

describe('clusterTransitions', () => {
  const connected = st(cond('Ready', 'True', 'NamespaceReady'), cond('AgentConnected', 'True', 'Heartbeat', 'agent a renews its heartbeat'));
  it('AgentConnected when AgentConnected turns True (from none, Unknown or False)', () => {
    assert.deepEqual(clusterTransitions(undefined, connected), [{ type: 'Normal', reason: 'AgentConnected', note: 'agent a renews its heartbeat' }]);
    assert.deepEqual(reasons(clusterTransitions(st(cond('AgentConnected', 'Unknown', 'NoAgent')), connected)), ['AgentConnected']);
    assert.deepEqual(reasons(clusterTransitions(st(cond('AgentConnected', 'False', 'HeartbeatExpired')), connected)), ['AgentConnected']);
  });

  it('AgentDisconnected when it stops being True, saying why', () => {
    const [expired] = clusterTransitions(connected, st(cond('AgentConnected', 'False', 'HeartbeatExpired', 'last renewed at …')));
    assert.equal(expired?.reason, 'AgentDisconnected');
    assert.match(expired!.note, /heartbeat expired/);
    const [gone] = clusterTransitions(connected, st(cond('AgentConnected', 'Unknown', 'NoAgent', 'no Lease')));
    assert.match(gone!.note, /Lease is gone/);
  });

  it('nothing on a status change that keeps it (counts, other conditions), nor for a Cluster that never had an agent', () => {
    assert.deepEqual(clusterTransitions(connected, st(cond('Ready', 'False', 'NamespaceTerminating'), cond('AgentConnected', 'True', 'Heartbeat', 'agent a renews its heartbeat'))), []);
    assert.deepEqual(clusterTransitions(undefined, st(cond('AgentConnected', 'Unknown', 'NoAgent'))), []);
  });
});
