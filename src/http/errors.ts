import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { AppError, describeError, ERROR_STATUS, type ErrorCode } from '../lib/errors.ts';
import type { AppEnv } from './types.ts';

export function errorBody(code: ErrorCode, message: string, requestId: string) {
  return { error: { code, message, requestId } };
}

export function errorResponse(
  c: Context<AppEnv>,
  code: ErrorCode,
  message: string,
  headers?: Record<string, string>,
) {
  return c.json(
    errorBody(code, message, c.get('requestId') ?? 'unknown'),
    ERROR_STATUS[code] as ContentfulStatusCode,
    headers,
  );
}

/** The one error handler: known errors keep their code and message; anything else is a 500 with no detail. */
export function onError(err: Error, c: Context<AppEnv>) {
  if (err instanceof AppError) {
    if (err.status >= 500)
      c.get('log')?.error('request failed', { error: describeError(err), code: err.code });
    return errorResponse(c, err.code, err.message);
  }
  c.get('log')?.error('unhandled error', { error: describeError(err) });
  return errorResponse(
    c,
    'internal',
    'Something went wrong on our side. Quote the request id when you contact support.',
  );
}
