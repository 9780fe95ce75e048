import type { Playbook } from '../playbooks.ts';
import { humanize, singular, wordSet } from '../text.ts';
import { accountFacts, bestLink, type FindingInput, isRec, str, type Writer } from './shared.ts';

/** `Billing_Managers` -> `billing manager`: case, separators and a plural do not matter. */
export function normRole(s: string): string {
  const words = humanize(s).split(/\s+/).filter(Boolean);
  if (words.length === 0) return '';
  words[words.length - 1] = singular(words[words.length - 1]!);
  return words.join(' ');
}

const sameRole = (a: string, b: string) => a === b || a.endsWith(` ${b}`) || b.endsWith(` ${a}`);
/** Labels that mean "everyone not named above". */
const OTHERS = /^(other|others|everyone else|rest|anyone else|the rest|non[- ]?\w+|all other \w+)$/;
const ROLE_TALK = /\b(role|roles|permission|permissions|rights|allowed|may|only)\b/i;

export interface RoleRule {
  /** Account role values (as the account spells them) the playbook allows to act. */
  allowed: string[];
  /** Role names the playbook uses that match no role on the account. */
  unresolved: string[];
}

/**
 * The roles a playbook allows, read from its steps: a step labelled with roles ("Admins and
 * billing managers: give the link") or saying "only X (and Y) can". Each name is matched to the
 * account's actual role values; a name that matches none is reported, never guessed.
 */
export function roleRule(book: Playbook, accountRoles: string[]): RoleRule | null {
  const roles = [...new Set(accountRoles.filter(Boolean))];
  const allowed = new Set<string>();
  const unresolved = new Set<string>();
  const consider = (names: string) => {
    for (const raw of names.split(/,|\band\b|\bor\b|\/|&/i)) {
      const n = normRole(raw.replace(/^(the|an?|account|workspace)\s+/i, '').trim());
      if (!n || OTHERS.test(n) || n.split(' ').length > 3) continue;
      const hit = roles.find((r) => sameRole(normRole(r), n));
      if (hit) allowed.add(hit);
      else unresolved.add(raw.trim());
    }
  };
  let talksRoles = false;
  let saysOnly = false;
  for (const step of book.steps) {
    const label = /^([^:]{1,60}):/.exec(step.trim());
    if (label) {
      talksRoles = true;
      consider(label[1]!);
    }
  }
  for (const line of [book.when, ...book.steps]) {
    const only = /\bonly\s+(?:the\s+)?([\p{L}_\s,/&-]{1,60}?)\s+(?:can|may|are allowed|have)\b/iu.exec(line);
    if (only) {
      talksRoles = true;
      saysOnly = true;
      consider(only[1]!);
    }
  }
  const text = `${book.when} ${book.steps.join(' ')}`;
  const human = humanize(text);
  const mentionsRole = roles.some((r) => {
    const n = normRole(r).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return n !== '' && new RegExp(`\\b${n}s?\\b`, 'i').test(human);
  });
  if (!talksRoles && !(ROLE_TALK.test(text) && mentionsRole) && !/\brole\b/i.test(text)) return null;
  // A labelled step about something other than a role ("Tip: ...") is not a rule.
  if (allowed.size === 0 && !saysOnly && !/\b(role|permission|admin|owner)/i.test(text)) return null;
  return { allowed: [...allowed], unresolved: [...unresolved] };
}

const plural = (r: string) => {
  const h = humanize(r);
  return h.endsWith('s') ? h : `${h}s`;
};

/**
 * The requester's role against the matched playbook's rule: "you can do this yourself" with the
 * playbook's link, or "only these roles can" naming the people who have them; when the rule
 * names roles the account does not have, "an account admin can help" and a reason for a human.
 */
export function roleCheck(w: Writer, f: FindingInput, book: Playbook): boolean {
  const { input, catalog, ticketWords, p } = f;
  const { ctx, name: accountName } = accountFacts(input.context.facts);
  const usersFact = ctx('users');
  const users = usersFact && Array.isArray(usersFact.value) ? usersFact.value.filter(isRec) : [];
  if (users.length === 0) return false;
  const rule = roleRule(
    book,
    users.map((u) => String(u.role ?? '')),
  );
  if (!rule) return false;
  const email = input.ticket.requester.email?.toLowerCase() ?? '';
  const me = users.find((u) => String(u.email ?? '').toLowerCase() === email);
  const myRole = me ? str(me.role) : null;
  w.findings++;
  if (rule.allowed.length === 0) {
    w.say(p.adminCanHelp(myRole ? humanize(myRole) : null, accountName), usersFact?.id);
    w.reasons.push(
      `The playbook "${book.key}" names ${rule.unresolved.length ? `roles (${rule.unresolved.join(', ')}) that match` : 'no role that matches'} none of the account's roles (${[...new Set(users.map((u) => String(u.role ?? '')))].join(', ')}); check who may make this change.`,
    );
    return true;
  }
  const allowedNorm = rule.allowed.map(normRole);
  if (myRole && allowedNorm.includes(normRole(myRole))) {
    const words = new Set([...ticketWords, ...wordSet(`${book.when} ${book.steps.join(' ')}`)]);
    const link = bestLink(catalog.links, words, w.usedLinks);
    if (link) w.usedLinks.add(link.factId);
    w.say(p.youCan(humanize(myRole), accountName, link?.url ?? null), usersFact?.id, link?.factId);
    return true;
  }
  const holders = users.filter((u) => allowedNorm.includes(normRole(String(u.role ?? ''))));
  const who = holders.map((u) => `${String(u.name ?? u.email)} (${humanize(String(u.role))})`);
  w.say(
    p.onlyRoles(myRole ? humanize(myRole) : null, accountName, rule.allowed.map(plural), who),
    usersFact?.id,
  );
  return true;
}

/** Whether a playbook says anything about roles (so the role check should run for it). */
export function isRolePlaybook(book: Playbook, accountRoles: string[]): boolean {
  return roleRule(book, accountRoles) !== null;
}
