import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  bearerToken,
  RequestAuthorizer,
  type AccessReviewer,
  type AccessReviewResult,
  type TokenReviewResult,
  type UserInfo,
} from '../../../src/observability/metrics-auth.ts';

/**
 * A reviewer answering from tables, counting the questions: the authorizer's
 * decisions and caching are pure logic over these answers (the real
 * TokenReview/SubjectAccessReview path is tested against an API server in
 * test/integration/metrics-auth.test.ts).
 */
class TableReviewer implements AccessReviewer {
  tokenReviews = 0;
  accessReviews = 0;
  failNext = false;
  readonly users = new Map<string, UserInfo>();
  readonly allowed = new Set<string>();
  /** Resolves held reviews when set. */
  gate: Promise<void> | undefined;

  async reviewToken(token: string): Promise<TokenReviewResult> {
    this.tokenReviews++;
    await this.gate;
    if (this.failNext) {
      this.failNext = false;
      throw new Error('connect ECONNREFUSED');
    }
    const user = this.users.get(token);
    return user ? { authenticated: true, user } : { authenticated: false, error: 'invalid bearer token' };
  }

  async reviewAccess(user: UserInfo, request: { verb: string; path: string }): Promise<AccessReviewResult> {
    this.accessReviews++;
    const allowed = this.allowed.has(`${user.username} ${request.verb} ${request.path}`);
    return allowed ? { allowed } : { allowed, reason: 'no RBAC policy matched' };
  }
}

function setup() {
  let now = 0;
  const reviewer = new TableReviewer();
  reviewer.users.set('scraper-token', { username: 'system:serviceaccount:monitoring:prometheus', groups: ['system:serviceaccounts'] });
  reviewer.users.set('stranger-token', { username: 'system:serviceaccount:default:stranger' });
  reviewer.allowed.add('system:serviceaccount:monitoring:prometheus get /metrics');
  const authorizer = new RequestAuthorizer({ reviewer, now: () => now });
  return { reviewer, authorizer, advance: (ms: number) => (now += ms) };
}

describe('bearerToken', () => {
  it('reads the token of a Bearer authorization, whatever the scheme case', () => {
    assert.equal(bearerToken('Bearer abc.def'), 'abc.def');
    assert.equal(bearerToken('bearer  abc '), 'abc');
    assert.equal(bearerToken(undefined), undefined);
    assert.equal(bearerToken('Basic dXNlcjpwYXNz'), undefined);
    assert.equal(bearerToken('Bearer '), undefined);
    assert.equal(bearerToken('Bearer a b'), undefined);
  });
});

describe('RequestAuthorizer', () => {
  it('401 without a token or with one the API server does not authenticate', async () => {
    const { authorizer, reviewer } = setup();
    assert.deepEqual(await authorizer.authorize(undefined, 'GET', '/metrics'), { status: 401, reason: 'no bearer token' });
    assert.equal(reviewer.tokenReviews, 0, 'no review without a token');
    const denied = await authorizer.authorize('Bearer forged', 'GET', '/metrics');
    assert.equal(denied.status, 401);
    assert.match((denied as { reason: string }).reason, /invalid bearer token/);
  });

  it('403 for an authenticated user without get on /metrics, 200 for one with it', async () => {
    const { authorizer } = setup();
    const stranger = await authorizer.authorize('Bearer stranger-token', 'GET', '/metrics');
    assert.equal(stranger.status, 403);
    assert.equal((stranger as { user: UserInfo }).user.username, 'system:serviceaccount:default:stranger');
    const scraper = await authorizer.authorize('Bearer scraper-token', 'GET', '/metrics');
    assert.equal(scraper.status, 200);
  });

  it('asks for the lower-case HTTP method as the verb, as the API server names non-resource verbs', async () => {
    const { authorizer } = setup();
    assert.equal((await authorizer.authorize('Bearer scraper-token', 'HEAD', '/metrics')).status, 403);
  });

  it('caches token reviews for a minute, allowed access for 5 minutes and denied access for 30 s', async () => {
    const { authorizer, reviewer, advance } = setup();
    for (let i = 0; i < 3; i++) await authorizer.authorize('Bearer scraper-token', 'GET', '/metrics');
    await authorizer.authorize('Bearer stranger-token', 'GET', '/metrics');
    assert.deepEqual([reviewer.tokenReviews, reviewer.accessReviews], [2, 2]);

    advance(30_000);
    await authorizer.authorize('Bearer scraper-token', 'GET', '/metrics');
    await authorizer.authorize('Bearer stranger-token', 'GET', '/metrics');
    assert.deepEqual([reviewer.tokenReviews, reviewer.accessReviews], [2, 3], 'only the denial expired');

    advance(30_000);
    await authorizer.authorize('Bearer scraper-token', 'GET', '/metrics');
    assert.deepEqual([reviewer.tokenReviews, reviewer.accessReviews], [3, 3], 'the token review expired after 1 min, the allowance not');

    advance(240_000);
    await authorizer.authorize('Bearer scraper-token', 'GET', '/metrics');
    assert.deepEqual([reviewer.tokenReviews, reviewer.accessReviews], [4, 4], 'the allowance expired after 5 min');
  });

  it('caches a rejected token too, so a wrong token cannot make every request cost a review', async () => {
    const { authorizer, reviewer } = setup();
    await authorizer.authorize('Bearer forged', 'GET', '/metrics');
    await authorizer.authorize('Bearer forged', 'GET', '/metrics');
    assert.equal(reviewer.tokenReviews, 1);
  });

  it('concurrent requests with one token share one review', async () => {
    const { authorizer, reviewer } = setup();
    let open!: () => void;
    reviewer.gate = new Promise((resolve) => (open = resolve));
    const pending = Array.from({ length: 5 }, () => authorizer.authorize('Bearer scraper-token', 'GET', '/metrics'));
    open();
    const decisions = await Promise.all(pending);
    assert.deepEqual(decisions.map((d) => d.status), [200, 200, 200, 200, 200]);
    assert.equal(reviewer.tokenReviews, 1);
    assert.equal(reviewer.accessReviews, 1);
  });

  it('500 when the API server cannot be asked, and the failure is not cached', async () => {
    const { authorizer, reviewer } = setup();
    reviewer.failNext = true;
    const failed = await authorizer.authorize('Bearer scraper-token', 'GET', '/metrics');
    assert.equal(failed.status, 500);
    assert.match(String((failed as { error: Error }).error), /ECONNREFUSED/);
    assert.equal((await authorizer.authorize('Bearer scraper-token', 'GET', '/metrics')).status, 200);
    assert.equal(reviewer.tokenReviews, 2);
  });
});
