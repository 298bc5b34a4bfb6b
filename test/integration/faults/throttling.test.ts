import { after, before, test } from 'node:test';
import { throttlingScenario } from '../../support/throttling-scenario.ts';

/**
 * Scenario 7: the controller's user is throttled for real by API Priority
 * and Fairness: a FlowSchema puts every request of `flotilla-controller`
 * into a priority level with the smallest share of the server's concurrency
 * (1 of ~246 shares: a few seats), no borrowing, and one short queue, so
 * requests beyond those seats and that queue get 429 with Retry-After (which
 * APF doubles, up to 32 s, while it keeps dropping). The controller must
 * wait as the server asks (client-go's behaviour), keep running, and still
 * converge to exactly the oracle's set.
 *
 * The same world under a level without a queue (`limitResponse: Reject`)
 * is scenario 13, throttling-reject.test.ts.
 */

const scenario = throttlingScenario({
  scenario: 7,
  reportName: 'throttling (APF 429)',
  workspace: 'throttled',
  level: 'flotilla-throttled',
  limitResponse: 'queue',
  burstSize: 60,
  convergeTimeoutMs: 240_000,
});

before(scenario.setUp);
after(scenario.tearDown);
test('throttled by API Priority and Fairness: 429s are honoured and the controller converges', scenario.run);
