/**
 * Which failed requests are the object's fault (the API server looked at it
 * and said no) and which are the infrastructure's. The first become a
 * ResourceProblem on that object while the others are still applied; the
 * second are thrown for the agent's runtime to back off and retry
 * (src/runtime/errors.ts classifies them).
 */
import { ApiError, isNamespaceTerminating } from '../../runtime/errors.ts';

/** 4xx answers about the object itself. 401 (our credentials), 408 and 429 (load) are not among them. */
const REJECTIONS = new Set([400, 403, 404, 405, 409, 410, 413, 415, 422]);

export interface Rejection {
  /** The API server's own Status message. */
  message: string;
  /** May go away without the manifests changing. */
  retryable: boolean;
}

export function asRejection(err: unknown): Rejection | undefined {
  if (!(err instanceof ApiError)) return undefined;
  if (!REJECTIONS.has(err.statusCode) && !isUntypablePatch(err)) return undefined;
  return { message: statusMessage(err), retryable: mayResolveItself(err) };
}

/**
 * Server-side apply answers 500 when the object does not fit the kind's
 * schema at all (`data: 5` on a ConfigMap, duplicate keys in a list-map,
 * a field a CRD does not declare): "failed to create typed patch object".
 * The fault is the object's, and retrying cannot fix it
 * (kubernetes/kubernetes#139253 asks for a 400 instead).
 */
function isUntypablePatch(err: ApiError): boolean {
  return err.statusCode === 500 && statusMessage(err).startsWith('failed to create typed patch object');
}

function statusMessage(err: ApiError): string {
  const body = err.body as { message?: unknown } | null | undefined;
  return typeof body?.message === 'string' && body.message !== '' ? body.message : err.message;
}

/**
 * A conflict (another writer), a namespace that does not exist yet or is
 * being deleted can all resolve while the manifests stay the same; an
 * invalid object or a missing permission cannot (someone has to act).
 */
function mayResolveItself(err: ApiError): boolean {
  if (err.statusCode === 409 || err.statusCode === 404) return true;
  return isNamespaceTerminating(err);
}
