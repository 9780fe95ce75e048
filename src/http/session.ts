import type { Context, MiddlewareHandler } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { lookupSession, SESSION_COOKIE } from '../tenancy/sessions.ts';
import type { AppEnv } from './types.ts';

/**
 * Resolves the admin principal from the `hc_session` cookie on every request (nothing to do,
 * and no database work, when there is no cookie). Unknown or expired cookies are ignored. A
 * session of a tenant that is not active (deletion requested) yields no principal on any route:
 * it is ended, its cookie cleared, and `sessionRefused` tells requireAdmin and the admin page to
 * answer `403 tenant_inactive` rather than "sign in".
 */
export const sessionMiddleware: MiddlewareHandler<AppEnv> = async (c, next) => {
  c.set('principal', undefined);
  c.set('sessionRefused', undefined);
  const token = getCookie(c, SESSION_COOKIE);
  if (token) {
    const { database, now } = c.get('deps');
    const found = await lookupSession(database.db, token, now?.() ?? new Date());
    if (found.kind === 'principal') c.set('principal', found.principal);
    else if (found.kind === 'tenant_inactive') {
      c.set('sessionRefused', 'tenant_inactive');
      clearSessionCookie(c);
    }
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
