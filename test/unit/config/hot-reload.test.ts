import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { defaultConfig } from '../../../src/config/defaults.ts';
import { diffConfig } from '../../../src/config/diff.ts';
import { HOT_RELOADABLE_FIELDS, isHotReloadable, planHotReload } from '../../../src/config/hot-reload.ts';
import { parseConfig } from '../../../src/config/validate.ts';

describe('hot-reloadable fields', () => {
  it('are the concurrency knobs (except poolThreads), api qps/burst, the log level and the workspaces', () => {
    for (const path of [
      'concurrency.maxConcurrentReconciles',
      'concurrency.poolQueueSize',
      'concurrency.poolInlineThreshold',
      'concurrency.lowPriorityShare',
      'concurrency.maxSummaryDeferralSeconds',
      'api.qps',
      'api.burst',
      'log.level',
      'workspaces.mode',
      'workspaces.selector.matchLabels',
      'workspaces.names',
    ]) {
      assert.ok(HOT_RELOADABLE_FIELDS.includes(path), `${path} should be hot-reloadable`);
    }
    for (const path of [
      'concurrency.poolThreads',
      'api.requestTimeoutSeconds',
      'leaderElection.leaseName',
      'metrics.bindAddress',
      'shutdown.timeoutSeconds',
      'backoff.baseDelayMs',
      'resyncPeriodSeconds',
    ]) {
      assert.ok(!HOT_RELOADABLE_FIELDS.includes(path), `${path} should need a restart`);
      assert.equal(isHotReloadable(path), false);
    }
  });
});

describe('diffConfig', () => {
  it('lists changed leaf fields as dotted paths, lists and maps as a whole', () => {
    const previous = defaultConfig();
    const next = parseConfig({
      concurrency: { maxConcurrentReconciles: 10 },
      workspaces: { selector: { matchLabels: { team: 'a' } } },
      leaderElection: { leaseName: 'other' },
    });
    assert.deepEqual(diffConfig(previous, next), [
      'workspaces.selector.matchLabels',
      'concurrency.maxConcurrentReconciles',
      'leaderElection.leaseName',
    ]);
    assert.deepEqual(diffConfig(previous, defaultConfig()), []);
  });
});

describe('planHotReload', () => {
  it('applies hot fields and keeps restart-only fields at their running values', () => {
    const running = defaultConfig();
    const fromFile = parseConfig({ api: { qps: 50, requestTimeoutSeconds: 5 }, log: { level: 'debug' } });
    const plan = planHotReload(running, fromFile);
    assert.deepEqual(plan.changed, ['api.qps', 'log.level']);
    assert.deepEqual(plan.restartRequired, ['api.requestTimeoutSeconds']);
    assert.equal(plan.next.api.qps, 50);
    assert.equal(plan.next.log.level, 'debug');
    assert.equal(plan.next.api.requestTimeoutSeconds, running.api.requestTimeoutSeconds);
    assert.ok(Object.isFrozen(plan.next.api));
    // The running configuration itself is untouched.
    assert.equal(running.api.qps, 0);
  });
});
