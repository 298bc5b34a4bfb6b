/**
 * Turns the API errors an operator can fix into one sentence naming the
 * problem and what to do about it. The controller never exits on these (the
 * API server may come back, CRDs and RBAC may be installed at any time), so
 * the sentence in the log is what tells a person why it is not ready.
 *
 * Only problems with a known remedy are explained; anything else (5xx, 410,
 * throttling) is ordinary weather that the retry loops handle, and the
 * function returns undefined for it.
 */
import { ApiError } from '../errors.ts';
import { resourceLabel, type ResourceType } from './resource.ts';

export type ApiProblemCategory = 'unreachable' | 'untrusted-certificate' | 'unauthorized' | 'forbidden' | 'crds-missing' | 'not-served';

export interface ApiProblem {
  category: ApiProblemCategory;
  /**
   * Identifies "the same problem" for de-duplication: all reflectors failing
   * to connect are one problem; each denied (verb, resource) is its own.
   */
  key: string;
  /** One sentence: what is wrong, then what to do. */
  message: string;
}

export interface ExplainContext {
  /** The API server URL the client talks to. */
  server: string;
  verb: string;
  type: ResourceType;
  namespace?: string | undefined;
}

/** The API group of Flotilla's own CRDs. */
const FLOTILLA_GROUP = 'flotilla.dev';

/** Errors that mean no HTTP conversation with the server happened at all. */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ETIMEDOUT', 'EADDRNOTAVAIL']);

/** Node's TLS verification failures (the server answered, but we cannot trust it). */
const CERTIFICATE_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

export function explainApiError(err: unknown, ctx: ExplainContext): ApiProblem | undefined {
  const server = ctx.server || 'the configured address';
  const resource = resourceLabel(ctx.type);
  if (err instanceof ApiError) {
    switch (err.statusCode) {
      case 401:
        return {
          category: 'unauthorized',
          key: 'unauthorized',
          message:
            `the API server at ${server} rejected the controller's credentials (401 Unauthorized); ` +
            'check the user in --kubeconfig (an expired token or client certificate?) or the pod\'s service account token',
        };
      case 403:
        return {
          category: 'forbidden',
          key: `forbidden:${ctx.verb}:${resource}${ctx.type.namespaced && ctx.namespace ? `@${ctx.namespace}` : ''}`,
          message:
            `forbidden: ${denial(err, ctx, resource)}; ` +
            'grant the controller the shipped RBAC (kubectl apply --server-side -k config/rbac) bound to this user or service account',
        };
      case 404:
        // A LIST of a whole resource type only 404s when the type is not served.
        if (ctx.verb !== 'list' && ctx.verb !== 'watch') return undefined;
        if (ctx.type.group === FLOTILLA_GROUP) {
          return {
            category: 'crds-missing',
            key: 'crds-missing',
            message:
              `the Flotilla CRDs are not installed (${resource} not found on ${server}); ` +
              'install them with kubectl apply --server-side -k config/crd',
          };
        }
        return {
          category: 'not-served',
          key: `not-served:${resource}`,
          message: `the API server at ${server} does not serve ${resource} (404); check that the cluster serves ${ctx.type.group || 'core'}/${ctx.type.version}`,
        };
      default:
        return undefined;
    }
  }
  const code = (err as { code?: unknown } | null)?.code;
  const detail = err instanceof Error ? err.message : String(err);
  if (typeof code === 'string' && UNREACHABLE_CODES.has(code)) {
    return {
      category: 'unreachable',
      key: 'unreachable',
      message: `cannot reach the API server at ${server}: ${detail}; check --kubeconfig (or KUBECONFIG) and that the cluster is running`,
    };
  }
  if (typeof code === 'string' && CERTIFICATE_CODES.has(code)) {
    return {
      category: 'untrusted-certificate',
      key: 'untrusted-certificate',
      message: `cannot trust the API server at ${server}: ${detail} (${code}); check certificate-authority(-data) in the kubeconfig`,
    };
  }
  return undefined;
}

/**
 * The server's own wording is already the best description ("User "x"
 * cannot list resource "clusters" in API group "flotilla.dev" at the
 * cluster scope"); it is prefixed by "<resource> is forbidden: ", which we drop.
 */
function denial(err: ApiError, ctx: ExplainContext, resource: string): string {
  const body = err.body as { message?: unknown } | undefined;
  const serverMessage = typeof body?.message === 'string' ? body.message : '';
  const [, reason] = /\bis forbidden: (.+)$/s.exec(serverMessage) ?? [];
  if (reason) return reason.trim();
  const scope = ctx.type.namespaced && ctx.namespace ? `in namespace ${ctx.namespace}` : 'at the cluster scope';
  return `the controller cannot ${ctx.verb} ${resource} ${scope}`;
}
