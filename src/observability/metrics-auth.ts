/**
 * Authentication and authorization of `/metrics` requests, delegated to the
 * API server as controller-runtime's `filters.WithAuthenticationAndAuthorization`
 * (and kube-rbac-proxy) do: the bearer token is checked with a TokenReview,
 * then the user it names with a SubjectAccessReview for the non-resource URL
 * (`get` on `/metrics`). So a Prometheus ServiceAccount bound to the
 * `flotilla-metrics-reader` ClusterRole can scrape, and nobody else.
 *
 * Answers are cached as controller-runtime caches them (token reviews 1 min,
 * allowed 5 min, denied 30 s): Prometheus scrapes every 30 s, and each scrape
 * must not cost two API requests. Concurrent requests with the same token
 * share one review. Failed reviews (the API server unreachable) are not
 * cached: the next scrape asks again.
 */
import { createHash } from 'node:crypto';
import { TtlCache } from './ttl-cache.ts';

export interface UserInfo {
  username: string;
  uid?: string | undefined;
  groups?: string[] | undefined;
  extra?: Record<string, string[]> | undefined;
}

export interface TokenReviewResult {
  authenticated: boolean;
  user?: UserInfo | undefined;
  /** Why the token was not authenticated, when the API server says. */
  error?: string | undefined;
}

export interface AccessReviewResult {
  allowed: boolean;
  reason?: string | undefined;
}

/** The two questions asked of the API server (kube-access-reviewer.ts asks them for real). */
export interface AccessReviewer {
  reviewToken(token: string): Promise<TokenReviewResult>;
  reviewAccess(user: UserInfo, request: { verb: string; path: string }): Promise<AccessReviewResult>;
}

export type AuthDecision =
  | { status: 200; user: UserInfo }
  | { status: 401; reason: string }
  | { status: 403; user: UserInfo; reason: string }
  | { status: 500; reason: string; error: unknown };

export interface RequestAuthorizerOptions {
  reviewer: AccessReviewer;
  /** How long a TokenReview answer is reused (controller-runtime: 1 min). */
  tokenTtlMs?: number;
  /** How long an allowed SubjectAccessReview is reused (controller-runtime: 5 min). */
  allowedTtlMs?: number;
  /** How long a denied SubjectAccessReview is reused (controller-runtime: 30 s). */
  deniedTtlMs?: number;
  /** Entries per cache. */
  maxEntries?: number;
  now?: () => number;
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
  return match?.[1];
}

export class RequestAuthorizer {
  readonly #reviewer: AccessReviewer;
  readonly #tokenTtlMs: number;
  readonly #allowedTtlMs: number;
  readonly #deniedTtlMs: number;
  readonly #tokens: TtlCache<Promise<TokenReviewResult>>;
  readonly #access: TtlCache<Promise<AccessReviewResult>>;

  constructor(options: RequestAuthorizerOptions) {
    this.#reviewer = options.reviewer;
    this.#tokenTtlMs = options.tokenTtlMs ?? 60_000;
    this.#allowedTtlMs = options.allowedTtlMs ?? 300_000;
    this.#deniedTtlMs = options.deniedTtlMs ?? 30_000;
    const cache = { maxEntries: options.maxEntries ?? 1024, ...(options.now ? { now: options.now } : {}) };
    this.#tokens = new TtlCache(cache);
    this.#access = new TtlCache(cache);
  }

  /**
   * Whether the request may proceed: 401 without a valid token, 403 when its
   * user may not `<method>` the path, 500 when the API server could not say.
   * The verb is the lower-case HTTP method, as the API server names the verbs
   * of non-resource requests.
   */
  async authorize(authorization: string | undefined, method: string, path: string): Promise<AuthDecision> {
    const token = bearerToken(authorization);
    if (token === undefined) return { status: 401, reason: 'no bearer token' };
    let review: TokenReviewResult;
    try {
      review = await this.#reviewToken(token);
    } catch (error) {
      return { status: 500, reason: 'authentication failed', error };
    }
    if (!review.authenticated || review.user === undefined) {
      return { status: 401, reason: review.error ? `token not authenticated: ${review.error}` : 'token not authenticated' };
    }
    const user = review.user;
    const verb = method.toLowerCase();
    let access: AccessReviewResult;
    try {
      access = await this.#reviewAccess(user, verb, path);
    } catch (error) {
      return { status: 500, reason: `authorization for user ${user.username} failed`, error };
    }
    if (!access.allowed) return { status: 403, user, reason: access.reason ?? '' };
    return { status: 200, user };
  }

  #reviewToken(token: string): Promise<TokenReviewResult> {
    // Hashed: the cache must not hold credentials in the clear.
    const key = createHash('sha256').update(token).digest('base64url');
    return this.#remember(this.#tokens, key, () => this.#reviewer.reviewToken(token), () => this.#tokenTtlMs);
  }

  #reviewAccess(user: UserInfo, verb: string, path: string): Promise<AccessReviewResult> {
    const key = JSON.stringify([user.username, user.uid ?? '', [...(user.groups ?? [])].sort(), sortedExtra(user.extra), verb, path]);
    return this.#remember(
      this.#access,
      key,
      () => this.#reviewer.reviewAccess(user, { verb, path }),
      (result) => (result.allowed ? this.#allowedTtlMs : this.#deniedTtlMs),
    );
  }

  /**
   * The cached answer, or a new review shared by every caller until it
   * settles; a settled answer is kept for `ttl(answer)`, a failure dropped.
   */
  #remember<T>(cache: TtlCache<Promise<T>>, key: string, ask: () => Promise<T>, ttl: (answer: T) => number): Promise<T> {
    const cached = cache.get(key);
    if (cached !== undefined) return cached;
    const pending = ask();
    // While in flight, held long enough for any review to finish.
    cache.set(key, pending, 60_000);
    pending.then(
      (answer) => {
        if (cache.get(key) === pending) cache.set(key, pending, ttl(answer));
      },
      () => cache.deleteIf(key, pending),
    );
    return pending;
  }
}

function sortedExtra(extra: Record<string, string[]> | undefined): Array<[string, string[]]> {
  return Object.entries(extra ?? {})
    .map(([k, v]): [string, string[]] => [k, [...v].sort()])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
