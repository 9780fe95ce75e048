import { sql } from 'drizzle-orm';
import type { Db, Tx } from '../db/client.ts';
import { slackInstallations, zendeskConnections } from '../db/schema/index.ts';
import { AppError } from '../lib/errors.ts';
import type { Actor } from '../tenancy/context.ts';
import { tenantStatus } from '../tenancy/lookup.ts';
import { createTenant } from '../tenancy/tenants.ts';

/**
 * "The tenant's connection" to a provider, and the choice of tenant for a new one.
 *
 * A tenant has at most one live (status <> 'revoked') Slack installation and one live Zendesk
 * connection: the partial unique indexes `slack_installations_one_live` and
 * `zendesk_connections_one_live` (migration 0005) enforce it, so these read that one row and
 * never pick "the first by some order". The predicates are written exactly as the indexes'.
 */
const LIVE_SLACK = sql`${slackInstallations.status} <> 'revoked'`;
const LIVE_ZENDESK = sql`${zendeskConnections.status} <> 'revoked'`;

export type SlackInstallationRow = typeof slackInstallations.$inferSelect;
export type ZendeskConnectionRow = typeof zendeskConnections.$inferSelect;

/** A select's only row; `lock` takes FOR UPDATE on it. */
async function only<R>(q: PromiseLike<R[]> & { for(strength: 'update'): PromiseLike<R[]> }, lock = false) {
  return (lock ? await q.for('update') : await q)[0];
}

/** The tenant's live Slack installation, inside its withTenant transaction; `lock` takes FOR UPDATE. */
export function liveSlackInstallation(
  tx: Tx,
  opts: { lock?: boolean } = {},
): Promise<SlackInstallationRow | undefined> {
  return only(tx.select().from(slackInstallations).where(LIVE_SLACK), opts.lock);
}

/** The tenant's live Zendesk connection, inside its withTenant transaction; `lock` takes FOR UPDATE. */
export function liveZendeskConnection(
  tx: Tx,
  opts: { lock?: boolean } = {},
): Promise<ZendeskConnectionRow | undefined> {
  return only(tx.select().from(zendeskConnections).where(LIVE_ZENDESK), opts.lock);
}

/** The name of the constraint a failed statement violated, whichever driver (postgres.js, PGlite) threw. */
export function violatedConstraint(e: unknown): string | undefined {
  let cur: unknown = e;
  for (let i = 0; i < 4 && cur && typeof cur === 'object'; i++) {
    const o = cur as { constraint_name?: unknown; constraint?: unknown; cause?: unknown };
    const name = o.constraint_name ?? o.constraint;
    if (typeof name === 'string') return name;
    cur = o.cause;
  }
  return undefined;
}

/** True when `e` is the one-live-connection index refusing a second live row for the tenant. */
export function isSecondLiveConnection(e: unknown): boolean {
  const c = violatedConstraint(e);
  return c === 'slack_installations_one_live' || c === 'zendesk_connections_one_live';
}

/**
 * Refuses to attach a connection to a tenant that is being deleted (its data is about to be
 * purged). Reads only tenants.id/status, as the look-up role.
 */
export async function assertTenantActive(db: Db, tenantId: string): Promise<void> {
  const status = await tenantStatus(db, tenantId);
  if (status !== 'active') {
    throw new AppError(
      'conflict',
      status === 'deleting'
        ? 'This account is being deleted. Install again once the deletion has completed, or contact support to cancel it.'
        : 'This account no longer exists.',
    );
  }
}

export interface ConnectionTenantInput {
  /** The tenant this Slack workspace / Zendesk account already belongs to (look-up), if any. */
  ownerTenantId: string | null;
  /** The signed-in admin's tenant when they started the flow (from the OAuth state). */
  joinTenantId: string | null | undefined;
  /** Name of the tenant created when neither applies. */
  newTenantName: string;
  /** Refusal when the workspace / account belongs to another tenant than the admin's. */
  takenMessage: string;
  actor: Actor;
  requestId?: string | undefined;
}

/**
 * Chooses the tenant of a new (or renewed) connection, the same way for every provider: the
 * signed-in admin's tenant when they started the flow; else the tenant the workspace or account
 * already belongs to; else a new tenant. Something that belongs to one tenant is never moved into
 * another (409 conflict), and nothing is attached to a tenant that is not active.
 */
export async function chooseConnectionTenant(
  db: Db,
  input: ConnectionTenantInput,
): Promise<{ tenantId: string; tenantCreated: boolean }> {
  const { ownerTenantId: owner, joinTenantId: join } = input;
  if (join && owner && owner !== join) throw new AppError('conflict', input.takenMessage);
  const chosen = join || owner;
  if (chosen) {
    await assertTenantActive(db, chosen);
    return { tenantId: chosen, tenantCreated: false };
  }
  const created = await createTenant(db, {
    name: input.newTenantName,
    actor: input.actor,
    ...(input.requestId ? { requestId: input.requestId } : {}),
  });
  return { tenantId: created.id, tenantCreated: true };
}
