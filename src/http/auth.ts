import type { Context, MiddlewareHandler } from 'hono';
import { isAdmin } from '../tenancy/principal.ts';
import { errorResponse } from './errors.ts';
import type { AppEnv } from './types.ts';
import { CONSOLE_NAV, messageBody } from './views/admin.ts';
import { sendPage } from './views/layout.ts';

/** The answer to a session whose tenant is not active (see sessionMiddleware). */
export function tenantInactive(c: Context<AppEnv>) {
  return errorResponse(
    c,
    'tenant_inactive',
    "This tenant's deletion was requested: its admin sessions have ended and nothing can be changed.",
  );
}

/** Refuses requests without a signed-in owner/admin principal (401 when signed out, 403 for members). */
export const requireAdmin: MiddlewareHandler<AppEnv> = async (c, next) => {
  const p = c.get('principal');
  if (!p && c.get('sessionRefused') === 'tenant_inactive') return tenantInactive(c);
  if (!p) return errorResponse(c, 'unauthorized', 'Sign in as a workspace admin first.');
  if (!isAdmin(p)) return errorResponse(c, 'forbidden', 'Only workspace owners and admins can do this.');
  return next();
};

/**
 * The console's pages for owners and admins: signed out, to `/admin` (which offers sign-in); a
 * member, a 403 page saying who may `what` ("see and change the catalog").
 */
export function requireAdminPage(title: string, what: string): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const p = c.get('principal');
    if (!p) return c.redirect('/admin', 303);
    if (!isAdmin(p))
      return sendPage(
        c,
        { title, nav: CONSOLE_NAV, children: messageBody([`Only owners and admins can ${what}.`]) },
        { status: 403 },
      );
    return next();
  };
}
