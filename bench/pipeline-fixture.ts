/**
 * For `HANDLER=pipeline` in bench/fairness.ts: a local Zendesk stub on 127.0.0.1 and the tenant
 * seeding the real `zendesk.ticket` pipeline needs (settings, catalog, directory, a sealed
 * non-expiring access token on the connection). Not a test; imported by the benchmark.
 *
 * The stub answers every endpoint the pipeline calls for one ticket, each after a fixed delay:
 * GET ticket (with requester, organization routed to account `ws_1`, brand), GET brand, GET the
 * requester's and the organization's recent tickets, GET comments (the note reconcile) and PUT
 * ticket (the internal note). Paths are /<subdomain>/api/v2/...; the server child rewrites
 * https://<subdomain>.zendesk.com to it (see bench/webhook-server.ts).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eq } from 'drizzle-orm';
import { zendeskConnections } from '../src/db/schema/index.ts';
import { withTenant } from '../src/db/tenant.ts';
import { replaceCatalog, syncDirectory, updateSettings } from '../src/pipeline/tenant-config.ts';
import type { ZendeskFixture } from '../test/helpers/zendesk-sign.ts';
import type { BenchDb } from './webhook-harness.ts';

export const STUB_TOKEN = 'bench-zendesk-access-token';
const REQUESTER = { id: 5001, name: 'Kai Brandt', email: 'kai@fennel.example', role: 'end-user' };
const ORG_ID = 6001;
const BRAND_ID = 7001;

export interface ZendeskStub {
  url: string;
  /** Requests answered, by method and path shape, and requests the stub did not expect. */
  counts: Map<string, number>;
  unexpected: string[];
  /**
   * Makes one account's Zendesk fail: `fault(subdomain)` is asked before every request, and what
   * it returns (a status and headers) is the answer instead, after the same delay; `undefined`
   * answers normally. Counted as `fault <status>`. Without one, nothing fails.
   */
  setFault(fault: ((subdomain: string) => StubFault | undefined) | undefined): void;
  close(): Promise<void>;
}

export interface StubFault {
  status: number;
  headers?: Record<string, string>;
}

export function startZendeskStub(delayMs: number): Promise<ZendeskStub> {
  const counts = new Map<string, number>();
  const unexpected: string[] = [];
  const notes = new Map<string, string[]>();
  let fault: ((subdomain: string) => StubFault | undefined) | undefined;
  const server: Server = createServer((req, res) => {
    const full = new URL(req.url ?? '/', 'http://stub').pathname;
    const path = full.replace(/^\/[a-z0-9-]+/, '');
    const failure = fault?.(/^\/([a-z0-9-]+)/.exec(full)?.[1] ?? '');
    if (failure) {
      const kind = `fault ${failure.status}`;
      counts.set(kind, (counts.get(kind) ?? 0) + 1);
      req.resume();
      setTimeout(() => res.writeHead(failure.status, failure.headers ?? {}).end(), delayMs);
      return;
    }
    const json = (status: number, body: unknown, kind: string) => {
      counts.set(kind, (counts.get(kind) ?? 0) + 1);
      setTimeout(
        () => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body)),
        delayMs,
      );
    };
    if (req.headers.authorization !== `Bearer ${STUB_TOKEN}`) return json(401, { error: 'auth' }, '401');
    let m = /^\/api\/v2\/tickets\/(\d+)\.json$/.exec(path);
    if (m && req.method === 'GET') {
      return json(
        200,
        {
          ticket: {
            id: Number(m[1]),
            subject: 'Reports tab missing',
            description: 'Since this morning the Reports tab is gone from my menu. Did you change something?',
            requester_id: REQUESTER.id,
            organization_id: ORG_ID,
            brand_id: BRAND_ID,
            via: { channel: 'web' },
            created_at: new Date().toISOString(),
          },
          users: [REQUESTER],
          organizations: [{ id: ORG_ID, name: 'Fennel Labs', organization_fields: { workspace: 'ws_1' } }],
        },
        'GET ticket',
      );
    }
    if (m && req.method === 'PUT') {
      const id = m[1]!;
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        const parsed = JSON.parse(body) as { ticket?: { comment?: { body?: string } } };
        notes.set(id, [...(notes.get(id) ?? []), parsed.ticket?.comment?.body ?? '']);
        json(200, { ticket: { id: Number(id) } }, 'PUT ticket (note)');
      });
      return;
    }
    m = /^\/api\/v2\/tickets\/(\d+)\/comments\.json$/.exec(path);
    if (m && req.method === 'GET') {
      const list = (notes.get(m[1]!) ?? []).map((b, i) => ({ id: i + 1, body: b, public: false }));
      return json(200, { comments: list }, 'GET comments');
    }
    if (path === `/api/v2/brands/${BRAND_ID}.json`)
      return json(200, { brand: { id: BRAND_ID, name: 'Gridline' } }, 'GET brand');
    if (/^\/api\/v2\/users\/\d+\/tickets\/requested\.json$/.test(path))
      return json(200, { tickets: [] }, 'GET requested');
    if (path === `/api/v2/organizations/${ORG_ID}/tickets.json`)
      return json(
        200,
        { tickets: [{ id: 42, subject: 'Reports tab missing for a viewer', status: 'solved' }] },
        'GET org tickets',
      );
    unexpected.push(`${req.method} ${path}`);
    return json(404, { error: 'RecordNotFound' }, '404');
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        counts,
        unexpected,
        setFault: (f) => {
          fault = f;
        },
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    });
  });
}

/** Settings, catalog and directory through the admin verbs, and a sealed access token valid for a year. */
export async function seedPipelineTenant(db: BenchDb, t: ZendeskFixture) {
  const { tenantId } = t;
  await withTenant(db.database.db, tenantId, async (tx) => {
    const ctx = { tenantId, tx, actor: { type: 'cli', name: 'bench' } as const };
    await updateSettings(ctx, { routing: { orgField: 'workspace', brands: {} } });
    await replaceCatalog(ctx, {
      plans: [{ key: 'core', name: 'Core', monthlyPrice: 250 }],
      features: [{ key: 'reports', name: 'Reports', plans: ['core'] }],
      links: { roles: 'https://app.gridline.example/settings/members' },
      kb: Array.from({ length: 20 }, (_, i) => ({
        id: `kb-${i}`,
        title: i === 0 ? 'Roles and report access' : `Article ${i} about exports and dashboards`,
        body:
          i === 0
            ? 'Viewers can open shared dashboards; only analysts and admins can open the Reports tab.'
            : `Dashboards, exports and reports, part ${i}. `.repeat(40),
      })),
      changelog: [{ date: '2026-11-01', title: 'Reports tab redesign', body: 'New filters.' }],
    });
    await syncDirectory(ctx, {
      mode: 'replace',
      accounts: [
        {
          id: 'ws_1',
          name: 'Fennel Labs',
          plan: 'core',
          domains: ['fennel.example'],
          users: [
            { email: REQUESTER.email, name: REQUESTER.name, role: 'viewer' },
            { email: 'olu@fennel.example', name: 'Olu Adeyemi', role: 'owner' },
          ],
          internalNotes: 'Owner prefers phone calls.',
        },
      ],
    });
    await tx
      .update(zendeskConnections)
      .set({
        accessToken: await db.vault.seal(tenantId, 'zendesk_access_token', STUB_TOKEN),
        accessExpiresAt: new Date(Date.now() + 365 * 86_400_000),
      })
      .where(eq(zendeskConnections.id, t.connectionId));
  });
}
