import type { MiddlewareHandler } from 'hono';
import { isAdmin } from '../tenancy/principal.ts';
import { errorResponse } from './errors.ts';
import type { AppEnv } from './types.ts';

/** Refuses requests without a signed-in owner/admin principal (401 when signed out, 403 for members). */
export const requireAdmin: MiddlewareHandler<AppEnv> = async (c, next) => {
  const p = c.get('principal');
  if (!p) return errorResponse(c, 'unauthorized', 'Sign in as a workspace admin first.');
  if (!isAdmin(p)) return errorResponse(c, 'forbidden', 'Only workspace owners and admins can do this.');
  return next();
};
