import { and, eq, sql } from 'drizzle-orm';
import type { Tx } from '../db/client.ts';
import { accountIdentifiers, accounts } from '../db/schema/index.ts';
import { isFreeMailDomain } from '../lib/free-mail.ts';

/**
 * Which account a Slack question is about, from evidence only, in this order:
 * 1. a Zendesk ticket the text names (a link on the tenant's own subdomain, `#123`, `ticket 123`):
 *    the caller routes that ticket exactly like a webhook ticket, since a reply to it must obey
 *    that ticket's level rules even in a channel linked to some account;
 * 2. the account linked to the channel (`/copilot link`);
 * 3. an exact account id, email address or domain in the text that matches exactly one account
 *    (a free-mail domain such as gmail.com is never evidence; an exact email still is).
 * Never a fuzzy guess from a company name: several candidates are returned for a select menu.
 */
export type AccountEvidence =
  | { kind: 'channel'; accountId: string }
  | { kind: 'ticket'; ticketId: string }
  | { kind: 'text'; accountId: string }
  | { kind: 'ambiguous'; candidates: { id: string; name: string }[] }
  | { kind: 'none' };

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;
const DOMAIN = /\b(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}\b/gi;
const TOKEN = /[A-Za-z0-9][A-Za-z0-9_.:-]{1,99}/g;

/** Slack wraps links and mailto's as `<url|label>`; mentions as `<@U123>`. Returns plain text. */
export function plainSlackText(text: string): string {
  return text
    .replace(/<@[A-Z0-9]+>/g, ' ')
    .replace(/<mailto:([^|>]+)(?:\|[^>]*)?>/g, '$1')
    .replace(/<(https?:[^|>]+)(?:\|[^>]*)?>/g, '$1')
    .replace(/<[#!][^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** A ticket id the text names: a link on `subdomain` (never another Zendesk), `#123` or `ticket 123`. */
export function ticketIdInText(text: string, subdomain: string | null): string | null {
  if (subdomain) {
    const esc = subdomain.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const link = new RegExp(`https://${esc}\\.zendesk\\.com/agent/tickets/(\\d{1,20})`, 'i').exec(text);
    if (link) return link[1]!;
  }
  const ref = /(?:^|\s)#(\d{1,20})\b|\bticket\s+#?(\d{1,20})\b/i.exec(text);
  return ref ? (ref[1] ?? ref[2])! : null;
}

export async function resolveAccountEvidence(
  tx: Tx,
  input: { text: string; channelAccountId: string | null; zendeskSubdomain: string | null },
): Promise<AccountEvidence> {
  const text = plainSlackText(input.text);
  // A named ticket first: a reply to a ticket obeys that ticket's own route (its requester's
  // level), whatever channel it is discussed in.
  const ticketId = input.zendeskSubdomain ? ticketIdInText(text, input.zendeskSubdomain) : null;
  if (ticketId) return { kind: 'ticket', ticketId };
  if (input.channelAccountId) return { kind: 'channel', accountId: input.channelAccountId };

  const emails = [...new Set((text.match(EMAIL) ?? []).map((e) => e.toLowerCase()))].slice(0, 10);
  const withoutEmails = text.replace(EMAIL, ' ');
  const domains = [
    ...new Set([
      ...(withoutEmails.match(DOMAIN) ?? []).map((d) => d.toLowerCase()),
      ...emails.map((e) => e.slice(e.lastIndexOf('@') + 1)),
    ]),
  ].slice(0, 10);
  const tokens = [...new Set(withoutEmails.match(TOKEN) ?? [])].slice(0, 50);

  const found = new Map<string, string>();
  const add = (rows: { id: string; name: string }[]) => {
    for (const r of rows) found.set(r.id, r.name);
  };
  const cols = { id: accounts.id, name: accounts.name };
  // Exact account ids first: an id is the strongest evidence in the text.
  if (tokens.length) {
    const byId = await tx
      .select(cols)
      .from(accounts)
      .where(
        sql`${accounts.id} in (${sql.join(
          tokens.map((t) => sql`${t}`),
          sql`, `,
        )})`,
      )
      .limit(10);
    if (byId.length === 1) return { kind: 'text', accountId: byId[0]!.id };
    add(byId);
  }
  // Emails and domains through the directory's identifier index (as ticket routing does); a
  // shared mailbox provider's domain (gmail.com, ...) is never evidence of an account.
  const byIdentifier = (kind: 'email' | 'domain', value: string) =>
    tx
      .select(cols)
      .from(accountIdentifiers)
      .innerJoin(
        accounts,
        and(
          eq(accounts.tenantId, accountIdentifiers.tenantId),
          eq(accounts.id, accountIdentifiers.accountId),
        ),
      )
      .where(and(eq(accountIdentifiers.kind, kind), eq(accountIdentifiers.value, value)))
      .limit(10);
  for (const email of emails) add(await byIdentifier('email', email));
  if (found.size === 0) {
    for (const domain of domains) if (!isFreeMailDomain(domain)) add(await byIdentifier('domain', domain));
  }
  if (found.size === 1) return { kind: 'text', accountId: [...found.keys()][0]! };
  if (found.size > 1) {
    return {
      kind: 'ambiguous',
      candidates: [...found].slice(0, 25).map(([id, name]) => ({ id, name })),
    };
  }
  return { kind: 'none' };
}

export async function accountExists(tx: Tx, id: string): Promise<boolean> {
  const rows = await tx.select({ id: accounts.id }).from(accounts).where(eq(accounts.id, id)).limit(1);
  return rows.length === 1;
}
