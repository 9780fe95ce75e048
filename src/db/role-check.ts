import { sql } from 'drizzle-orm';
import { claimKeyOf, isDevelopmentClaimKey } from './claims.ts';
import { type Database, rowsOf } from './client.ts';

export interface RuntimeRole {
  name: string;
  superuser: boolean;
  bypassRls: boolean;
  /** Tenant-owned tables (a tenant_id column, or tenants) this role owns or is a member of the owner of. */
  ownsTables: string[];
  /** Roles this role can SET ROLE to that see more than one tenant. */
  escapeRoles: string[];
  /** Whether the role may create temporary tables in this database. */
  canCreateTemp: boolean;
}

/** The connecting role's properties, as the database reports them. */
export async function describeRuntimeRole(database: Database): Promise<RuntimeRole> {
  const [r] = rowsOf<{ name: string; superuser: boolean; bypass: boolean; temp: boolean }>(
    await database.db.execute(sql`select r.rolname as name, r.rolsuper as superuser, r.rolbypassrls as bypass,
      has_database_privilege(current_user, current_database(), 'TEMPORARY') as temp
      from pg_roles r where r.rolname = current_user`),
  );
  const owned = rowsOf<{ t: string }>(
    await database.db.execute(sql`select c.relname as t from pg_class c
      join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and c.relkind in ('r', 'p')
        and pg_has_role(current_user, c.relowner, 'USAGE')
        and (c.relname = 'tenants' or exists (select 1 from pg_attribute a
          where a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped))
      order by 1`),
  ).map((x) => x.t);
  const escapes = rowsOf<{ r: string }>(
    await database.db.execute(sql`select rolname as r from pg_roles
      where rolname in ('helpdesk_lookup', 'helpdesk_scheduler') and pg_has_role(current_user, oid, 'MEMBER')
      order by 1`),
  ).map((x) => x.r);
  return {
    name: r?.name ?? 'unknown',
    superuser: Boolean(r?.superuser),
    bypassRls: Boolean(r?.bypass),
    ownsTables: owned,
    escapeRoles: escapes,
    canCreateTemp: Boolean(r?.temp),
  };
}

export type IsolationLevel = 'database-enforced' | 'application-only';

/** What holds: on PostgreSQL with a proper runtime role, isolation holds against injected SQL. */
export function isolationLevel(database: Database, role: RuntimeRole): IsolationLevel {
  if (database.kind !== 'postgres') return 'application-only';
  return problemsWith(database, role).length === 0 ? 'database-enforced' : 'application-only';
}

/** What is wrong with the server's database role, as sentences saying what to change. */
export function problemsWith(database: Database, role: RuntimeRole): string[] {
  const out: string[] = [];
  if (role.superuser)
    out.push(
      `DATABASE_URL connects as ${role.name}, a superuser: connect as the runtime role (helpdesk_runtime) and give the superuser/owner URL to MIGRATION_DATABASE_URL instead`,
    );
  if (role.bypassRls)
    out.push(`DATABASE_URL's role ${role.name} has BYPASSRLS: ALTER ROLE ${role.name} NOBYPASSRLS`);
  if (role.ownsTables.length > 0)
    out.push(
      `DATABASE_URL's role ${role.name} owns tenant tables (${role.ownsTables.slice(0, 3).join(', ')}${role.ownsTables.length > 3 ? ', ...' : ''}): that is the migration owner; set MIGRATION_DATABASE_URL to it and DATABASE_URL to the runtime role helpdesk_runtime`,
    );
  if (role.escapeRoles.length > 0)
    out.push(
      `DATABASE_URL's role ${role.name} can switch to ${role.escapeRoles.join(', ')}: REVOKE ${role.escapeRoles.join(', ')} FROM ${role.name}`,
    );
  if (role.canCreateTemp)
    out.push(
      `DATABASE_URL's role ${role.name} may create temporary tables: REVOKE TEMPORARY ON DATABASE ... FROM PUBLIC, ${role.name} (npm run db:migrate does it)`,
    );
  if (database.kind === 'postgres' && isDevelopmentClaimKey(claimKeyOf(database.db)))
    out.push('tenant claims use the public development key: set ENCRYPTION_KEY');
  return out;
}

/**
 * The server's start check on PostgreSQL: refuses a superuser, BYPASSRLS or table-owning role
 * (and the other gaps above) with a message saying what to change. The embedded database is
 * exempt (one superuser by nature; /readyz reports `application-only`).
 */
export async function assertRuntimeRole(database: Database): Promise<RuntimeRole> {
  const role = await describeRuntimeRole(database);
  if (database.kind !== 'postgres') return role;
  const problems = problemsWith(database, role);
  if (problems.length > 0) {
    throw new Error(
      `Refusing to start: the database role is not a safe runtime role.\n- ${problems.join('\n- ')}\nSee README.md, "Isolation".`,
    );
  }
  return role;
}
