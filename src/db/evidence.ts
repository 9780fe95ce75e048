import { sql } from 'drizzle-orm';
import { verifyAuditChain } from '../audit/audit.ts';
import { type Database, rowsOf } from './client.ts';
import { describeRuntimeRole, isolationLevel, type RuntimeRole } from './role-check.ts';
import { withTenant } from './tenant.ts';

export interface IsolationEvidence {
  generatedAt: string;
  database: Database['kind'];
  level: ReturnType<typeof isolationLevel>;
  role: RuntimeRole;
  tables: { table: string; rlsEnabled: boolean; rlsForced: boolean; policy: string | null }[];
  /** Escapes tried live as this connection inside withTenant(tenant): each must be refused or void. */
  probes: { probe: string; held: boolean; detail: string }[];
  auditChains: { tenantId: string; ok: boolean; events: number; head: string | null; breaksAt?: unknown }[];
}

const PROBES: [string, ReturnType<typeof sql>][] = [
  ['set_config app.tenant_id', sql`select set_config('app.tenant_id', 'tn_0000000000000000other', true)`],
  [
    'forged app.tenant_claim',
    sql`select set_config('app.tenant_claim', 'tn_0000000000000000other:00', true)`,
  ],
  ['RESET ROLE', sql`reset role`],
  ['SET ROLE helpdesk_lookup', sql`set local role helpdesk_lookup`],
  ['SET ROLE helpdesk_scheduler', sql`set local role helpdesk_scheduler`],
  ['ALTER TABLE NO FORCE RLS', sql`alter table accounts no force row level security`],
  ['temporary table', sql`create temporary table accounts (tenant_id text)`],
  ['read the claim key', sql`select * from public.app_claim_key`],
];

/**
 * The isolation report `npm run isolation:evidence` prints (and the console can show a tenant's
 * admins): every tenant table's RLS state and policy, the connecting role's properties, live
 * escape probes inside withTenant, and the head of each tenant's audit chain.
 */
export async function isolationEvidence(database: Database, tenantIds: string[]): Promise<IsolationEvidence> {
  const role = await describeRuntimeRole(database);
  const tables = rowsOf<{ t: string; e: boolean; f: boolean; p: string | null }>(
    await database.db.execute(sql`select c.relname as t, c.relrowsecurity as e, c.relforcerowsecurity as f,
      (select string_agg(p.polname || ': ' || pg_get_expr(p.polqual, p.polrelid), '; ' order by p.polname)
         from pg_policy p where p.polrelid = c.oid) as p
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and c.relkind = 'r' and (c.relname = 'tenants' or exists (
        select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped))
      order by 1`),
  ).map((r) => ({ table: r.t, rlsEnabled: r.e, rlsForced: r.f, policy: r.p }));
  const probes: IsolationEvidence['probes'] = [];
  const probeTenant = tenantIds[0];
  if (probeTenant) {
    for (const [probe, q] of PROBES) {
      try {
        const leaked = await withTenant(database.db, probeTenant, async (tx) => {
          await tx.execute(q);
          const rows = rowsOf<{ n: number | string }>(
            await tx.execute(sql`select count(*)::int as n from accounts where tenant_id <> ${probeTenant}`),
          );
          throw new ProbeResult(Number(rows[0]?.n ?? 0));
        });
        void leaked;
      } catch (e) {
        if (e instanceof ProbeResult)
          probes.push({
            probe,
            held: e.otherRows === 0,
            detail:
              e.otherRows === 0
                ? 'ran, but no other tenant row visible'
                : `${e.otherRows} other-tenant rows visible`,
          });
        else
          probes.push({
            probe,
            held: true,
            detail: `refused: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`,
          });
      }
    }
  }
  const auditChains: IsolationEvidence['auditChains'] = [];
  for (const t of tenantIds) auditChains.push({ tenantId: t, ...(await verifyAuditChain(database.db, t)) });
  return {
    generatedAt: new Date().toISOString(),
    database: database.kind,
    level: isolationLevel(database, role),
    role,
    tables,
    probes,
    auditChains,
  };
}

/** Thrown to roll the probe's transaction back whatever it did. */
class ProbeResult extends Error {
  otherRows: number;
  constructor(n: number) {
    super('probe');
    this.otherRows = n;
  }
}
