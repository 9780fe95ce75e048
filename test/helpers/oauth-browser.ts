import { expect } from 'vitest';
import type { App } from '../../src/app.ts';
import type { Db } from '../../src/db/client.ts';
import { createSession, SESSION_COOKIE } from '../../src/tenancy/sessions.ts';
import { createTenant } from '../../src/tenancy/tenants.ts';

/**
 * The admin's browser in an install or connect flow: the same-origin POST from our start page
 * (Origin and Sec-Fetch-Site as a browser sends them), the state cookie it receives, and the
 * provider's redirect back to our callback carrying that cookie.
 */
export const ORIGIN = 'https://copilot.test';

export interface StartedFlow {
  /** The provider's authorize URL we redirected to. */
  location: string;
  state: string;
  /** The raw Set-Cookie header of the start response. */
  setCookie: string;
  /** `name=value` of the state cookie, for the callback's Cookie header. */
  cookie: string;
}

export function postStart(
  app: App,
  path: string,
  form: Record<string, string> | null,
  headers: Record<string, string> = {},
) {
  return app.request(path, {
    method: 'POST',
    headers: {
      origin: ORIGIN,
      'sec-fetch-site': 'same-origin',
      ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      ...headers,
    },
    ...(form ? { body: new URLSearchParams(form).toString() } : {}),
  });
}

/** Starts a flow and expects the 303 to the provider with the state cookie `cookieName`. */
export async function startFlow(
  app: App,
  path: string,
  cookieName: string,
  form: Record<string, string> | null,
  headers: Record<string, string> = {},
): Promise<StartedFlow> {
  const res = await postStart(app, path, form, headers);
  expect(res.status).toBe(303);
  const location = res.headers.get('location')!;
  const setCookie = res.headers.get('set-cookie') ?? '';
  const bound = new RegExp(`^${cookieName}=([^;]+)`).exec(setCookie)?.[1];
  expect(bound).toBeDefined();
  const state = new URL(location).searchParams.get('state')!;
  return { location, state, setCookie, cookie: `${cookieName}=${bound}` };
}

/** The provider sends the browser back to `path?query`, with `cookie` (the state cookie) if given. */
export function returnTo(
  app: App,
  path: string,
  query: string,
  cookie?: string,
  headers: Record<string, string> = {},
) {
  const cookies = [cookie, headers.cookie].filter(Boolean).join('; ');
  return app.request(`${path}?${query}`, {
    headers: { ...headers, ...(cookies ? { cookie: cookies } : {}) },
  });
}

/** A new tenant with a signed-in owner or admin: its id and the session's Cookie header value. */
export async function signedInAdmin(
  db: Db,
  opts: { tenantName: string; userId: string; role: 'owner' | 'admin'; tenantId?: string },
): Promise<{ tenantId: string; cookie: string }> {
  const tenantId =
    opts.tenantId ??
    (await createTenant(db, { name: opts.tenantName, actor: { type: 'system', name: 'test' } })).id;
  const { token } = await createSession(db, {
    tenantId,
    userId: opts.userId,
    role: opts.role,
    via: 'local_link',
  });
  return { tenantId, cookie: `${SESSION_COOKIE}=${token}` };
}
