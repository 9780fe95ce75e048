import { Hono } from 'hono';
import { audit, exportVerifiedAuditTrail } from '../audit/audit.ts';
import { slackInstallations, tenants, zendeskConnections } from '../db/schema/index.ts';
import { withTenant } from '../db/tenant.ts';
import { timingSafeEqualString } from '../lib/crypto.ts';
import { requestTenantDeletion } from '../tenancy/deletion.ts';
import { isAdmin, type Principal } from '../tenancy/principal.ts';
import { createSession, endSession } from '../tenancy/sessions.ts';
import { readSidebarSettings } from '../zendesk/sidebar-settings.ts';
import { onboardingSteps } from './admin-onboarding.ts';
import { requireAdmin } from './auth.ts';
import { errorResponse } from './errors.ts';
import { requireSameOriginPosts } from './middleware.ts';
import { clearSessionCookie, sessionToken, setSessionCookie } from './session.ts';
import type { AppEnv } from './types.ts';
import { CONSOLE_NAV, type ConnectionRow, consoleBody, messageBody, signedOutBody } from './views/admin.ts';
import { sendPage } from './views/layout.ts';

const ADMIN_NAV = CONSOLE_NAV;

const adminActor = (p: Principal) => ({ type: 'admin' as const, userId: p.userId, via: p.via });

/** Loopback peers only: 127.0.0.0/8, ::1 and their IPv4-mapped form. */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  return a === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}

/** The TCP peer address from @hono/node-server's bindings (never a header). */
function socketAddress(env: unknown): string | undefined {
  return (env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming?.socket
    ?.remoteAddress;
}

async function readForm(c: {
  req: {
    header(n: string): string | undefined;
    json(): Promise<unknown>;
    parseBody(): Promise<Record<string, unknown>>;
  };
}) {
  const ct = c.req.header('content-type') ?? '';
  if (ct.includes('application/json')) {
    const parsed: unknown = await c.req.json().catch(() => null);
    const body = parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
    return { json: true, body };
  }
  return { json: false, body: await c.req.parseBody() };
}

/**
 * The admin console: `GET /admin`, `POST /admin/signout`, `POST /admin/tenant/delete`,
 * `GET /admin/audit.jsonl` and, on the embedded database only, `GET /admin/local-login`.
 */
export function adminRoutes() {
  const app = new Hono<AppEnv>();
  // Admin forms: same-origin POSTs only (the one rule, isSameOriginRequest).
  app.use('/admin/*', requireSameOriginPosts);

  app.get('/admin', async (c) => {
    const p = c.get('principal');
    const { config, database } = c.get('deps');
    if (!p && c.get('sessionRefused') === 'tenant_inactive') {
      return sendPage(
        c,
        {
          title: 'Tenant being deleted',
          children: messageBody([
            "This tenant's deletion was requested, so its admin sessions have ended. Nothing can be changed any more.",
            'Until the retention window ends, your operator can cancel the deletion (npm run tenant -- cancel-deletion); then reconnect Slack and Zendesk and sign in again.',
          ]),
        },
        { status: 403 },
      );
    }
    if (!p) {
      return sendPage(
        c,
        {
          title: 'Helpdesk Copilot admin',
          children: signedOutBody({
            slackSignIn: config.features.slackInstall,
            zendeskSignIn: config.zendeskOAuth !== null,
            embedded: database.kind === 'pglite',
          }),
        },
        { status: 401 },
      );
    }
    const view = await withTenant(database.db, p.tenantId, async (tx) => ({
      tenant: (await tx.select().from(tenants))[0],
      steps: await onboardingSteps(tx, config),
      slack: await tx
        .select({
          teamId: slackInstallations.teamId,
          enterpriseId: slackInstallations.enterpriseId,
          teamName: slackInstallations.teamName,
          status: slackInstallations.status,
          statusDetail: slackInstallations.statusDetail,
        })
        .from(slackInstallations),
      zendesk: await tx
        .select({
          subdomain: zendeskConnections.subdomain,
          status: zendeskConnections.status,
          statusDetail: zendeskConnections.statusDetail,
        })
        .from(zendeskConnections),
    }));
    const connections: ConnectionRow[] = [
      ...view.slack.map((s) => ({
        provider: 'Slack' as const,
        account: s.teamName ?? s.teamId ?? s.enterpriseId,
        status: s.status,
        statusDetail: s.statusDetail,
      })),
      ...view.zendesk.map((z) => ({
        provider: 'Zendesk' as const,
        account: z.subdomain,
        status: z.status,
        statusDetail: z.statusDetail,
      })),
    ];
    const sidebar = await readSidebarSettings(database.db, p.tenantId);
    return sendPage(c, {
      title: 'Helpdesk Copilot admin',
      nav: ADMIN_NAV,
      children: consoleBody({
        principal: p,
        admin: isAdmin(p),
        tenant: view.tenant,
        connections,
        steps: view.steps,
        retentionDays: config.TENANT_RETENTION_DAYS,
        sidebar,
      }),
    });
  });

  app.post('/admin/signout', async (c) => {
    const p = c.get('principal');
    const token = sessionToken(c);
    if (p && token) await endSession(c.get('deps').database.db, p, token, c.get('requestId'));
    clearSessionCookie(c);
    return c.redirect('/admin', 303);
  });

  app.post('/admin/tenant/delete', requireAdmin, async (c) => {
    const p = c.get('principal')!;
    const deps = c.get('deps');
    const { database, config, now, logger } = deps;
    const { json, body } = await readForm(c);
    const confirm = typeof body.confirm === 'string' ? body.confirm.trim() : '';
    const name = await withTenant(
      database.db,
      p.tenantId,
      async (tx) => (await tx.select().from(tenants))[0]?.name,
    );
    if (!name || !confirm || !timingSafeEqualString(confirm, name)) {
      await withTenant(database.db, p.tenantId, (tx) =>
        audit(
          { tenantId: p.tenantId, tx, actor: adminActor(p), requestId: c.get('requestId') },
          {
            action: 'tenant.deletion_requested',
            target: p.tenantId,
            outcome: 'denied',
            detail: { reason: 'name_mismatch' },
          },
        ),
      );
      return errorResponse(c, 'bad_request', 'Type the tenant name exactly to confirm the deletion.');
    }
    const result = await requestTenantDeletion(database.db, {
      tenantId: p.tenantId,
      actor: adminActor(p),
      retentionDays: config.TENANT_RETENTION_DAYS,
      requestId: c.get('requestId'),
      now: now?.() ?? new Date(),
      // The entry wires Zendesk deprovisioning (src/zendesk/provisioning.ts); without it the
      // deletion is recorded with zendeskDeprovisioning 'unavailable'.
      deprovision: deps.deprovision,
      log: logger,
    });
    if (json) {
      return c.json({
        tenantId: result.tenantId,
        status: result.status,
        deleteAfter: result.deleteAfter.toISOString(),
        alreadyRequested: result.alreadyRequested,
      });
    }
    return c.redirect('/admin', 303);
  });

  app.get('/admin/audit.jsonl', requireAdmin, async (c) => {
    const p = c.get('principal')!;
    const { database } = c.get('deps');
    await withTenant(database.db, p.tenantId, (tx) =>
      audit(
        { tenantId: p.tenantId, tx, actor: adminActor(p), requestId: c.get('requestId') },
        { action: 'audit.exported', target: p.tenantId, outcome: 'success' },
      ),
    );
    const lines = exportVerifiedAuditTrail(database.db, p.tenantId);
    const enc = new TextEncoder();
    const stream = new ReadableStream<Uint8Array>({
      async pull(ctrl) {
        const next = await lines.next();
        if (next.done) ctrl.close();
        else ctrl.enqueue(enc.encode(next.value));
      },
      async cancel() {
        await lines.return(undefined);
      },
    });
    return c.body(stream, 200, {
      'Content-Type': 'application/x-ndjson; charset=utf-8',
      'Content-Disposition': `attachment; filename="audit-${p.tenantId}.jsonl"`,
      'Cache-Control': 'no-store',
    });
  });

  app.get('/admin/local-login', async (c) => {
    const { database, localLogin, now } = c.get('deps');
    // Embedded database only, from this machine only (the socket's peer, not a header).
    if (database.kind !== 'pglite' || !localLogin) return errorResponse(c, 'not_found', 'No such page.');
    if (!isLoopback(socketAddress(c.env))) {
      return errorResponse(c, 'forbidden', 'The local admin link works only from this machine.');
    }
    const at = now?.() ?? new Date();
    const tenantId = await localLogin.consume(c.req.query('token') ?? '', at);
    if (!tenantId) {
      return sendPage(
        c,
        {
          title: 'Link expired',
          children: messageBody([
            'This local admin link was already used or has expired. Restart the server for a new one.',
          ]),
        },
        { status: 401 },
      );
    }
    const session = await createSession(database.db, {
      tenantId,
      userId: 'local-admin',
      userName: 'Local admin',
      role: 'owner',
      via: 'local_link',
      requestId: c.get('requestId'),
      now: at,
    });
    setSessionCookie(c, session.token, session.expiresAt);
    return c.redirect('/admin', 303);
  });
  return app;
}
