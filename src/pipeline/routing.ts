import { and, eq, or, sql } from 'drizzle-orm';
import type { Tx } from '../db/client.ts';
import { accountIdentifiers, accounts, endUsers } from '../db/schema/index.ts';
import { isFreeMailDomain } from '../lib/free-mail.ts';
import type { RoutingSettings } from './settings.ts';
import type { PipelineTicket, RouteLevel } from './types.ts';

/**
 * Decides who a ticket is from, using only structured facts and the tenant's routing settings:
 *
 * 1. `account` when the Zendesk organization's configured field (`orgField`) holds the id of a
 *    known account, or when the requester's email, or else its domain, belongs to exactly one
 *    account of the directory (`accounts.emails` / `accounts.domains`, looked up through their
 *    index `account_identifiers`: one primary-key probe whatever the directory's size). A shared
 *    mailbox provider's domain (gmail.com, ...: src/lib/free-mail.ts) is never a match, even if
 *    an account lists it: such requesters route by their exact email only.
 * 2. `end_user` when the ticket arrived on a brand (or support address) the tenant maps to an
 *    account, and the requester is not one of that account's people.
 * 3. `unknown` otherwise. Never a guess: a company name in the subject or body is not evidence,
 *    and two accounts claiming the same requester is not a match.
 */
export interface RouteDecision {
  level: RouteLevel;
  accountId: string | null;
  endUserEmail: string | null;
  /** The end user's directory id when the directory knows them. */
  endUserId: string | null;
  reason:
    | 'org_field'
    | 'requester_email'
    | 'requester_domain'
    | 'brand'
    | 'recipient'
    | 'ambiguous_requester'
    | 'mapped_account_unknown'
    | 'no_match'
    // Slack questions (src/slack/resolve-account.ts): the channel's linked account, an exact id,
    // email or domain in the text, or the rep's choice in the select menu.
    | 'slack_channel'
    | 'slack_text'
    | 'slack_choice'
    | 'slack_external_user';
}

const normEmail = (e: string | null | undefined) => (e ? e.trim().toLowerCase() : null);

function domainOf(email: string | null): string | null {
  if (!email) return null;
  const at = email.lastIndexOf('@');
  return at > 0 && at < email.length - 1 ? email.slice(at + 1) : null;
}

async function accountExists(tx: Tx, id: string): Promise<boolean> {
  const rows = await tx.select({ id: accounts.id }).from(accounts).where(eq(accounts.id, id)).limit(1);
  return rows.length === 1;
}

/**
 * The accounts (at most two: one is a match, two are ambiguous) listing `value` (lower case) as
 * an email or a domain. A query builder, so a test can EXPLAIN exactly what routing runs.
 */
export function accountsByIdentifier(tx: Tx, kind: 'email' | 'domain', value: string) {
  return tx
    .select({ id: accountIdentifiers.accountId })
    .from(accountIdentifiers)
    .where(and(eq(accountIdentifiers.kind, kind), eq(accountIdentifiers.value, value)))
    .limit(2);
}

async function accountsByEmail(tx: Tx, email: string): Promise<string[]> {
  return (await accountsByIdentifier(tx, 'email', email)).map((r) => r.id);
}

async function accountsByDomain(tx: Tx, domain: string): Promise<string[]> {
  if (isFreeMailDomain(domain)) return [];
  return (await accountsByIdentifier(tx, 'domain', domain)).map((r) => r.id);
}

/** Whether `email` is one of the account's own people (listed email, or one of its domains unless free mail). */
async function isMemberOf(tx: Tx, accountId: string, email: string): Promise<boolean> {
  const domain = domainOf(email);
  const byEmail = and(eq(accountIdentifiers.kind, 'email'), eq(accountIdentifiers.value, email));
  const rows = await tx
    .select({ id: accountIdentifiers.accountId })
    .from(accountIdentifiers)
    .where(
      and(
        eq(accountIdentifiers.accountId, accountId),
        domain && !isFreeMailDomain(domain)
          ? or(byEmail, and(eq(accountIdentifiers.kind, 'domain'), eq(accountIdentifiers.value, domain)))
          : byEmail,
      ),
    )
    .limit(1);
  return rows.length === 1;
}

function lookupCaseInsensitive(map: Record<string, string> | undefined, key: string | null): string | null {
  if (!map || !key) return null;
  const k = key.trim().toLowerCase();
  for (const [name, id] of Object.entries(map)) if (name.trim().toLowerCase() === k) return id;
  return null;
}

/** Routes one ticket inside the tenant's transaction (the directory is read under RLS). */
export async function routeTicket(
  tx: Tx,
  ticket: PipelineTicket,
  routing: RoutingSettings,
): Promise<RouteDecision> {
  const email = normEmail(ticket.requester.email);
  const base = { endUserEmail: null, endUserId: null };

  // 1. The organization's field, as configured for this tenant.
  const raw = ticket.organization?.fields?.[routing.orgField];
  const orgAccount = typeof raw === 'string' || typeof raw === 'number' ? String(raw).trim() : '';
  if (orgAccount && (await accountExists(tx, orgAccount))) {
    return { level: 'account', accountId: orgAccount, reason: 'org_field', ...base };
  }

  // 2. The requester's email, then its domain. Exactly one account must claim it.
  let ambiguous = false;
  if (email) {
    const byEmail = await accountsByEmail(tx, email);
    if (byEmail.length === 1)
      return { level: 'account', accountId: byEmail[0]!, reason: 'requester_email', ...base };
    if (byEmail.length > 1) ambiguous = true;
    const domain = domainOf(email);
    if (!ambiguous && domain) {
      const byDomain = await accountsByDomain(tx, domain);
      if (byDomain.length === 1)
        return { level: 'account', accountId: byDomain[0]!, reason: 'requester_domain', ...base };
      if (byDomain.length > 1) ambiguous = true;
    }
  }
  if (ambiguous) return { level: 'unknown', accountId: null, reason: 'ambiguous_requester', ...base };

  // 3. A brand or support address mapped to an account: its end users write there.
  const byBrand = lookupCaseInsensitive(routing.brands, ticket.brand);
  const byRecipient = lookupCaseInsensitive(routing.recipients, normEmail(ticket.recipient));
  const mapped = byBrand ?? byRecipient;
  if (mapped && email) {
    if (!(await accountExists(tx, mapped)))
      return { level: 'unknown', accountId: null, reason: 'mapped_account_unknown', ...base };
    if (await isMemberOf(tx, mapped, email)) {
      return { level: 'account', accountId: mapped, reason: 'requester_email', ...base };
    }
    const known = await tx
      .select({ id: endUsers.id })
      .from(endUsers)
      .where(and(eq(endUsers.accountId, mapped), sql`lower(${endUsers.email}) = ${email}`))
      .limit(1);
    return {
      level: 'end_user',
      accountId: mapped,
      endUserEmail: email,
      endUserId: known[0]?.id ?? null,
      reason: byBrand ? 'brand' : 'recipient',
    };
  }
  return { level: 'unknown', accountId: null, reason: 'no_match', ...base };
}
