/**
 * TokenReview and SubjectAccessReview against the API server, for the
 * metrics endpoint's authentication and authorization (metrics-auth.ts).
 * The caller's identity needs `create` on tokenreviews.authentication.k8s.io
 * and subjectaccessreviews.authorization.k8s.io (config/rbac/role.yaml).
 */
import type { KubeClient } from '../runtime/kube/client.ts';
import type { AccessReviewer, AccessReviewResult, TokenReviewResult, UserInfo } from './metrics-auth.ts';

/** controller-runtime's TokenAccessReviewTimeout. */
const REVIEW_TIMEOUT_MS = 10_000;

interface TokenReview {
  status?: { authenticated?: boolean; error?: string; user?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> } };
}

interface SubjectAccessReview {
  status?: { allowed?: boolean; denied?: boolean; reason?: string; evaluationError?: string };
}

export class KubeAccessReviewer implements AccessReviewer {
  readonly #client: KubeClient;

  constructor(client: KubeClient) {
    this.#client = client;
  }

  async reviewToken(token: string): Promise<TokenReviewResult> {
    // No audiences: the API server checks the token against its own, as
    // controller-runtime's delegating authenticator does by default.
    const review = await this.#client.request<TokenReview>({
      verb: 'create',
      method: 'POST',
      path: '/apis/authentication.k8s.io/v1/tokenreviews',
      resource: 'tokenreviews.authentication.k8s.io',
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } },
      timeoutMs: REVIEW_TIMEOUT_MS,
    });
    const status = review?.status ?? {};
    const user = status.user;
    if (status.authenticated !== true || !user?.username) return { authenticated: false, error: status.error };
    return {
      authenticated: true,
      user: { username: user.username, uid: user.uid, groups: user.groups, extra: user.extra },
    };
  }

  async reviewAccess(user: UserInfo, request: { verb: string; path: string }): Promise<AccessReviewResult> {
    const review = await this.#client.request<SubjectAccessReview>({
      verb: 'create',
      method: 'POST',
      path: '/apis/authorization.k8s.io/v1/subjectaccessreviews',
      resource: 'subjectaccessreviews.authorization.k8s.io',
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: {
          user: user.username,
          ...(user.uid ? { uid: user.uid } : {}),
          ...(user.groups ? { groups: user.groups } : {}),
          ...(user.extra ? { extra: user.extra } : {}),
          nonResourceAttributes: { path: request.path, verb: request.verb },
        },
      },
      timeoutMs: REVIEW_TIMEOUT_MS,
    });
    const status = review?.status ?? {};
    const reason = [status.reason, status.evaluationError].filter(Boolean).join('; ');
    return { allowed: status.allowed === true && status.denied !== true, ...(reason ? { reason } : {}) };
  }
}
