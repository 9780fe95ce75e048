import { and, desc, eq, gt } from 'drizzle-orm';
import type { Context } from 'hono';
import { Hono } from 'hono';
import { html } from 'hono/html';
import { audit } from '../audit/audit.ts';
import { adminSessions } from '../db/schema/index.ts';
import { withTenant } from '../db/tenant.ts';
import { sha256Hex } from '../lib/crypto.ts';
import { isAdmin } from '../tenancy/principal.ts';
import { requireSameOriginPosts } from './middleware.ts';
import { sessionToken } from './session.ts';
import type { AppEnv } from './types.ts';
import { CONSOLE_NAV, messageBody } from './views/admin.ts';
import { sendPage } from './views/layout.ts';

/**
 * The console's members: who is signed in to this tenant's console (user, role, how they signed
 * in, since when, last seen, until when; last seen is written at most every 5 minutes per session,
 * LAST_SEEN_EVERY_MS), and an admin can end any of those sessions
 * (`POST /admin/members/end`, same-origin; audited as `admin.session_ended`). A session is
 * named by its stored hash, which cannot be used to sign in.
 */
const TITLE = 'Members';
const onlyAdmins = (c: Context<AppEnv>) =>
  sendPage(
    c,
    {
      title: TITLE,
      nav: CONSOLE_NAV,
      children: messageBody(['Only owners and admins can see and end sessions.']),
    },
    { status: 403 },
  );

/** "just now", "12 min ago", "3 h ago", else the UTC time; within 5 minutes is "just now" (the write granularity). */
export function lastSeen(at: Date | null, now: Date): string {
  if (!at) return 'not yet';
  const min = Math.floor((now.getTime() - at.getTime()) / 60_000);
  if (min < 5) return 'just now';
  if (min < 60) return `${min} min ago`;
  if (min < 24 * 60) return `${Math.floor(min / 60)} h ago`;
  return at.toISOString().replace('T', ' ').slice(0, 16);
}

export function adminMembersRoutes() {
  const app = new Hono<AppEnv>();
  app.use('/admin/members/*', requireSameOriginPosts);

  app.get('/admin/members', async (c) => {
    const p = c.get('principal');
    if (!p) return c.redirect('/admin', 303);
    if (!isAdmin(p)) return onlyAdmins(c);
    const now = c.get('deps').now?.() ?? new Date();
    const token = sessionToken(c);
    const mine = token ? await sha256Hex(token) : null;
    const rows = await withTenant(c.get('deps').database.db, p.tenantId, (tx) =>
      tx
        .select()
        .from(adminSessions)
        .where(gt(adminSessions.expiresAt, now))
        .orderBy(desc(adminSessions.createdAt)),
    );
    const ended = c.req.query('ended') === '1';
    const children = html`${ended ? html`<p class="notice" role="status">The session was ended.</p>` : ''}
<p>Everyone signed in to this tenant's console now, newest first. Ending a session signs that person out at once.</p>
${
  rows.length
    ? html`<table><caption class="visually-hidden">Open console sessions</caption>
<tr><th scope="col">who</th><th scope="col">role</th><th scope="col">signed in with</th><th scope="col">since (UTC)</th><th scope="col">last seen</th><th scope="col">until</th><th scope="col"><span class="visually-hidden">actions</span></th></tr>
${rows.map(
  (r) =>
    html`<tr><td>${r.userName ?? r.userId} <small>${r.userId}</small></td><td>${r.role}</td><td>${
      { slack_oidc: 'Slack', zendesk_oauth: 'Zendesk', local_link: 'local link' }[r.via]
    }</td><td>${r.createdAt.toISOString().replace('T', ' ').slice(0, 16)}</td><td>${lastSeen(r.lastSeenAt, now)}</td><td>${r.expiresAt.toISOString().replace('T', ' ').slice(0, 16)}</td><td>${
      r.idHash === mine
        ? html`<small>this session</small>`
        : html`<form method="post" action="/admin/members/end"><input type="hidden" name="session" value="${r.idHash}"><button type="submit" aria-label="End the session of ${r.userName ?? r.userId}">End session</button></form>`
    }</td></tr>`,
)}</table>`
    : html`<p>Nobody is signed in.</p>`
}`;
    return sendPage(c, { title: TITLE, nav: CONSOLE_NAV, children });
  });

  app.post('/admin/members/end', async (c) => {
    const p = c.get('principal');
    if (!p) return c.redirect('/admin', 303);
    if (!isAdmin(p)) return onlyAdmins(c);
    const body = await c.req.parseBody();
    const hash = typeof body.session === 'string' ? body.session : '';
    if (!/^[0-9a-f]{64}$/.test(hash))
      return sendPage(
        c,
        { title: TITLE, nav: CONSOLE_NAV, children: messageBody(['That is not a session.']) },
        { status: 400 },
      );
    const gone = await withTenant(c.get('deps').database.db, p.tenantId, async (tx) => {
      const rows = await tx
        .delete(adminSessions)
        .where(and(eq(adminSessions.idHash, hash)))
        .returning({ userId: adminSessions.userId });
      if (rows[0])
        await audit(
          {
            tenantId: p.tenantId,
            tx,
            actor: { type: 'admin', userId: p.userId, via: p.via },
            requestId: c.get('requestId'),
          },
          { action: 'admin.session_ended', target: rows[0].userId, outcome: 'success' },
        );
      return rows.length > 0;
    });
    if (!gone)
      return sendPage(
        c,
        {
          title: TITLE,
          nav: CONSOLE_NAV,
          children: messageBody(
            ['That session has already ended.'],
            [{ href: '/admin/members', label: 'Back to members' }],
          ),
        },
        { status: 404 },
      );
    return c.redirect('/admin/members?ended=1', 303);
  });
  return app;
}
