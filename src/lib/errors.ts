/**
 * One closed set of error codes. Every error body the API returns is
 * `{ "error": { "code", "message", "requestId" } }` with a code from this list.
 * Domain code throws AppError; only http/ maps codes to statuses.
 */
export const ERROR_STATUS = {
  bad_request: 400,
  invalid_body: 400,
  invalid_state: 400,
  invalid_subdomain: 400,
  /** A tenant-supplied URL (the Context API) that may not be reached: not https, private, internal. */
  url_not_allowed: 400,
  /** A free-mail domain (gmail.com, ...) in a directory account's domains (src/lib/free-mail.ts). */
  free_mail_domain: 400,
  /** A catalog link placeholder other than the ones links may carry (src/pipeline/context/link-template.ts). */
  placeholder_not_allowed: 400,
  unauthorized: 401,
  invalid_signature: 401,
  stale_request: 401,
  /**
   * A webhook whose sealed signing secret does not open (tampered, moved, key not configured): the
   * request cannot be verified, now or on a retry (src/zendesk/webhook-secret.ts).
   */
  webhook_secret_unavailable: 401,
  forbidden: 403,
  /** The principal's tenant is not active (deletion requested, or purged). */
  tenant_inactive: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal: 500,
  upstream_error: 502,
  feature_disabled: 503,
  not_ready: 503,
  upstream_timeout: 504,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class AppError extends Error {
  readonly code: ErrorCode;
  /** Whether retrying the failed operation later may succeed (upstream 5xx, timeouts, 429). */
  readonly retryable: boolean;
  readonly detail: Record<string, unknown> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { retryable?: boolean; cause?: unknown; detail?: Record<string, unknown> } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AppError';
    this.code = code;
    this.retryable = opts.retryable ?? false;
    this.detail = opts.detail;
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}

/** The database's own message for a failed query (drizzle wraps it with the SQL and its parameters). */
export function dbErrorMessage(e: unknown): string | undefined {
  let cur: unknown = e;
  for (let i = 0; i < 4 && cur instanceof Error; i++) {
    if (cur.name !== 'DrizzleQueryError' && !cur.message.startsWith('Failed query:')) return cur.message;
    cur = cur.cause;
  }
  return cur instanceof Error ? cur.message : undefined;
}

/** Postgres SQLSTATE of a failed query, when there is one (e.g. 23505 unique violation). */
export function dbErrorCode(e: unknown): string | undefined {
  let cur: unknown = e;
  for (let i = 0; i < 4 && cur && typeof cur === 'object'; i++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * A short, log-safe description of any thrown value: no stack, and for failed queries only the
 * database's message, never the SQL parameters (which may hold sealed tokens or customer data).
 */
export function describeError(e: unknown): string {
  if (e instanceof AppError) return `${e.code}: ${e.message}`;
  if (e instanceof Error) {
    if (e.name === 'DrizzleQueryError' || e.message.startsWith('Failed query:')) {
      return `DatabaseError: ${dbErrorMessage(e) ?? 'query failed'}`;
    }
    return `${e.name}: ${e.message}`;
  }
  return String(e);
}

/**
 * A retryable failure that says when to try again (an upstream's `Retry-After`, a model's rate
 * limit). The job worker reschedules the job at `retryAt` instead of its own backoff, also when
 * that is far off (minutes), up to the worker's cap for such hints. `keepsAttempt`: the call was
 * never made (held back by the tenant's own limits, src/limits/upstream.ts), so the job keeps the
 * attempt it was given and is not dead-lettered for it.
 */
export class RetryLaterError extends AppError {
  readonly retryAt: Date;
  readonly keepsAttempt: boolean;
  constructor(
    message: string,
    retryAt: Date,
    opts: {
      code?: ErrorCode;
      cause?: unknown;
      detail?: Record<string, unknown>;
      keepsAttempt?: boolean;
    } = {},
  ) {
    super(opts.code ?? 'rate_limited', message, {
      retryable: true,
      cause: opts.cause,
      detail: { ...opts.detail, retryAt: retryAt.toISOString() },
    });
    this.name = 'RetryLaterError';
    this.retryAt = retryAt;
    this.keepsAttempt = opts.keepsAttempt ?? false;
  }
}

export function isRetryLater(e: unknown): e is RetryLaterError {
  return e instanceof RetryLaterError;
}

/**
 * Milliseconds a `Retry-After` (delta-seconds or an HTTP date) or `retry-after-ms` header asks
 * for, relative to `now`; null when absent or unreadable.
 */
export function retryAfterMs(
  headers: { get(name: string): string | null } | undefined,
  now: Date,
): number | null {
  if (!headers) return null;
  const ms = headers.get('retry-after-ms');
  if (ms && /^\d+(\.\d+)?$/.test(ms.trim())) return Math.ceil(Number(ms));
  const ra = headers.get('retry-after')?.trim();
  if (!ra) return null;
  if (/^\d+(\.\d+)?$/.test(ra)) return Math.ceil(Number(ra) * 1000);
  const at = Date.parse(ra);
  return Number.isNaN(at) ? null : Math.max(0, at - now.getTime());
}
