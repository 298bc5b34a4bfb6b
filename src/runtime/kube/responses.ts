import { ApiError } from '../errors.ts';

/** Reading what the API server answered: Retry-After, and failed responses as ApiErrors. */

export function parseRetryAfter(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return undefined;
  const seconds = Number.parseInt(value, 10);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : undefined;
}

/** The server's Status body when it sent one; the raw text (truncated) when not. */
export function toApiError(
  spec: { verb: string; resource: string },
  status: number,
  body: string,
  retryAfterSeconds: number | undefined,
): ApiError {
  let parsed: { reason?: string; message?: string; code?: number } | undefined;
  try {
    parsed = body ? JSON.parse(body) : undefined;
  } catch {
    parsed = undefined;
  }
  return new ApiError({
    statusCode: status,
    reason: parsed?.reason ?? '',
    message: parsed?.message ?? (body.slice(0, 500) || `HTTP ${status}`),
    verb: spec.verb,
    resource: spec.resource,
    ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
    body: parsed ?? body,
  });
}
