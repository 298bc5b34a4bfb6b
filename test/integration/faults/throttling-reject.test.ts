import { after, before, test } from 'node:test';
import { throttlingScenario } from '../../support/throttling-scenario.ts';

/**
 * Scenario 13: scenario 7's world (400 BundleDeployments) under a priority
 * level that rejects instead of queuing (`limitResponse: Reject`): every
 * request of `flotilla-controller` beyond the level's few seats is answered
 * 429 at once, and the server raises the level's Retry-After (doubling, up to
 * 32 s) for as long as it keeps rejecting several requests per second. A
 * client that keeps as many requests in flight as it did before the first
 * 429 keeps being rejected, and spends most of its time in the long waits it
 * caused. The controller must honour every Retry-After and converge to
 * exactly the oracle's set; the time it takes is reported, not asserted.
 */

const scenario = throttlingScenario({
  scenario: 13,
  reportName: 'throttling (APF 429, Reject level)',
  workspace: 'rejected',
  level: 'flotilla-rejected',
  limitResponse: 'reject',
  burstSize: 20,
  convergeTimeoutMs: 600_000,
});

before(scenario.setUp);
after(scenario.tearDown);
test('throttled by a rejecting APF level: 429s are honoured and the controller converges', scenario.run);
