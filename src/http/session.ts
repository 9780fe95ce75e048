import type { Context, MiddlewareHandler } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { principalForSession, SESSION_COOKIE } from '../tenancy/sessions.ts';
import { errorResponse } from './errors.ts';
import type { AppEnv } from './types.ts';

/**
 * Resolves the admin principal from the `hc_session` cookie on every request (nothing to do,
 * and no database work, when there is no cookie). Unknown or expired cookies are ignored.
 */
export const sessionMiddleware: MiddlewareHandler<AppEnv> = async (c, next) => {
  c.set('principal', undefined);
  const token = getCookie(c, SESSION_COOKIE);
  if (token) {
    const { database, now } = c.get('deps');
    c.set('principal', await principalForSession(database.db, token, now?.() ?? new Date()));
  }
  return next();
};

function secure(c: Context<AppEnv>): boolean {
  return c.get('deps').config.PUBLIC_URL.startsWith('https:');
}

export function setSessionCookie(c: Context<AppEnv>, token: string, expiresAt: Date): void {
  setCookie(c, SESSION_COOKIE, token, {
    httpOnly: true,
    secure: secure(c),
    sameSite: 'Lax',
    path: '/',
    expires: expiresAt,
  });
}

export function clearSessionCookie(c: Context<AppEnv>): void {
  deleteCookie(c, SESSION_COOKIE, { path: '/', secure: secure(c), httpOnly: true, sameSite: 'Lax' });
}

/** The raw session cookie value of this request (for sign out). */
export function sessionToken(c: Context<AppEnv>): string | undefined {
  return getCookie(c, SESSION_COOKIE);
}

/**
 * Admin forms are same-origin POSTs. SameSite=Lax already keeps the cookie off cross-site POSTs;
 * this also refuses a POST whose Origin (or Sec-Fetch-Site) says it came from another site.
 */
export const sameOriginPost: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (c.req.method !== 'POST') return next();
  const origin = c.req.header('origin');
  const expected = new URL(c.get('deps').config.PUBLIC_URL).origin;
  const site = c.req.header('sec-fetch-site');
  if ((origin && origin !== expected) || site === 'cross-site') {
    return errorResponse(c, 'forbidden', 'Cross-site form posts are refused.');
  }
  return next();
};
