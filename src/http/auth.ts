import type { Context, MiddlewareHandler } from 'hono';
import { isAdmin } from '../tenancy/principal.ts';
import { errorResponse } from './errors.ts';
import type { AppEnv } from './types.ts';

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
