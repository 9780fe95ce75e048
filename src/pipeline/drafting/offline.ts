import type { ContextFact } from '../types.ts';
import { matchPlaybooks, type Playbook, playbooksOf } from './playbooks.ts';
import {
  firstName,
  formatWhen,
  humanize,
  joinAnd,
  overlap,
  relativeDays,
  singular,
  titleCase,
  wordSet,
} from './text.ts';
import type { Drafter, DraftInput, DraftResult } from './types.ts';

/**
 * The drafter used when no model is configured. Deterministic and grounded: every sentence is
 * built from a context fact (cited by id), chosen by keyword overlap with the ticket and by what
 * the facts show (a feature the plan lacks, a failing integration, requests failing with a
 * revoked key, the requester's role when a playbook asks for it, the end user's own records).
 * It never reads facts the level did not load, so what it can say is bounded by the loader.
 */
type Rec = Record<string, unknown>;

const isRec = (v: unknown): v is Rec => !!v && typeof v === 'object' && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' && v.trim() ? v : null);

interface Catalog {
  plans: { factId: string; key: string; name: string; price: number | null }[];
  features: { factId: string; key: string; name: string; plans: string[] }[];
  links: { factId: string; key: string; url: string }[];
  changelog: { factId: string; date: string; title: string; body: string }[];
  kb: { factId: string; title: string; body: string; rank: number }[];
}

function readCatalog(facts: ContextFact[]): Catalog {
  const c: Catalog = { plans: [], features: [], links: [], changelog: [], kb: [] };
  for (const f of facts) {
    const v = isRec(f.value) ? f.value : {};
    if (f.key === 'catalog_plan')
      c.plans.push({
        factId: f.id,
        key: String(v.key ?? ''),
        name: str(v.name) ?? String(v.key ?? ''),
        price: typeof v.monthlyPrice === 'number' ? v.monthlyPrice : null,
      });
    else if (f.key === 'catalog_feature')
      c.features.push({
        factId: f.id,
        key: String(v.key ?? ''),
        name: str(v.name) ?? String(v.key ?? ''),
        plans: Array.isArray(v.plans) ? v.plans.map(String) : [],
      });
    else if (f.key === 'link' && str(v.url))
      c.links.push({ factId: f.id, key: String(v.key ?? ''), url: String(v.url) });
    else if (f.key === 'changelog')
      c.changelog.push({
        factId: f.id,
        date: String(v.date ?? ''),
        title: String(v.title ?? ''),
        body: String(v.body ?? ''),
      });
    else if (f.key === 'kb_article')
      c.kb.push({
        factId: f.id,
        title: String(v.title ?? ''),
        body: String(v.body ?? ''),
        rank: Number(v.rank ?? 0),
      });
  }
  return c;
}

class Writer {
  readonly paragraphs: string[] = [];
  readonly cited = new Set<string>();
  findings = 0;
  say(text: string, ...factIds: (string | undefined | null)[]) {
    this.paragraphs.push(text);
    for (const id of factIds) if (id) this.cited.add(id);
  }
}

/** Words that name the kind of a thing rather than the thing, so they do not identify a feature. */
const GENERIC = new Set(
  wordSet('integration integrations sync export import feature features api app plan report reports access'),
);

function linkWords(l: { key: string; url: string }): Set<string> {
  let path = l.url;
  try {
    const u = new URL(l.url);
    path = `${u.pathname} ${[...u.searchParams.keys()].join(' ')}`;
  } catch {}
  return wordSet(`${humanize(l.key)} ${path}`);
}

function bestLink(links: Catalog['links'], words: Set<string>, exclude: Set<string> = new Set()) {
  let best: { link: Catalog['links'][number]; score: number } | null = null;
  for (const l of links) {
    if (exclude.has(l.factId)) continue;
    const score = overlap(linkWords(l), words).filter((w) => !GENERIC.has(w)).length;
    if (score > 0 && (!best || score > best.score)) best = { link: l, score };
  }
  return best?.link ?? null;
}

function findLink(links: Catalog['links'], ...needles: string[]) {
  return links.find((l) => needles.some((n) => `${l.key} ${l.url}`.toLowerCase().includes(n))) ?? null;
}

function accountFacts(facts: ContextFact[]) {
  const ctx = (key: string) => facts.find((f) => f.source === 'context_api' && f.key === key);
  const directory = facts.find((f) => f.id === 'directory:account');
  const dir = directory && isRec(directory.value) ? directory.value : {};
  return { ctx, directory, name: str(dir.name), dirPlan: str(dir.plan) };
}

function currentPlan(facts: ContextFact[], catalog: Catalog) {
  const { ctx, dirPlan, directory } = accountFacts(facts);
  const planFact = ctx('plan');
  const raw = planFact
    ? isRec(planFact.value)
      ? (planFact.value.key ?? planFact.value.name)
      : planFact.value
    : dirPlan;
  const key = typeof raw === 'string' ? raw.toLowerCase() : null;
  if (!key) return null;
  const plan = catalog.plans.find((p) => p.key.toLowerCase() === key || p.name.toLowerCase() === key);
  return {
    key: plan?.key ?? key,
    name: plan?.name ?? titleCase(key),
    factIds: [planFact?.id ?? directory?.id, plan?.factId],
  };
}

function planGatedFeatures(
  w: Writer,
  input: DraftInput,
  catalog: Catalog,
  ticketWords: Set<string>,
  signals: string[],
) {
  const facts = input.context.facts;
  const plan = currentPlan(facts, catalog);
  const integrationsFact = accountFacts(facts).ctx('integrations');
  const integrations = integrationsFact && isRec(integrationsFact.value) ? integrationsFact.value : {};
  const handled = new Set<string>();
  for (const feature of catalog.features) {
    const own = wordSet(`${humanize(feature.key)} ${feature.name}`);
    const others = new Set(
      catalog.features
        .filter((f) => f !== feature)
        .flatMap((f) => [...wordSet(`${humanize(f.key)} ${f.name}`)]),
    );
    const distinctive = [...own].filter((x) => !GENERIC.has(x) && !others.has(x));
    if (!distinctive.some((x) => ticketWords.has(x))) continue;
    if (!plan) continue;
    const including = catalog.plans
      .filter((p) => feature.plans.map((k) => k.toLowerCase()).includes(p.key.toLowerCase()))
      .sort((a, b) => (a.price ?? Number.MAX_SAFE_INTEGER) - (b.price ?? Number.MAX_SAFE_INTEGER));
    const included = feature.plans.map((k) => k.toLowerCase()).includes(plan.key.toLowerCase());
    const integ = Object.entries(integrations).find(([k]) => k.toLowerCase() === feature.key.toLowerCase());
    if (included) {
      w.say(
        `${feature.name} is included in the ${plan.name} plan your account is on.`,
        feature.factId,
        ...plan.factIds,
      );
      continue;
    }
    handled.add(feature.key.toLowerCase());
    signals.push('feature plan include upgrade');
    w.findings++;
    const names = including.map((p) => p.name);
    let text = `${feature.name} is not part of the ${plan.name} plan your account is on; it is included in the ${joinAnd(names)} plan${names.length > 1 ? 's' : ''}.`;
    const integValue = integ && isRec(integ[1]) ? integ[1] : null;
    if (
      integValue &&
      /connect|active|ok|enabled/i.test(String(integValue.status ?? '')) &&
      !/not/i.test(String(integValue.status))
    ) {
      const since = str(integValue.since);
      text += ` Your ${titleCase(feature.key)} connection itself is set up${since ? ` (connected since ${formatWhen(since)})` : ''}, so nothing is broken: it stays inactive until the account is on a plan that includes it.`;
    }
    w.say(text, feature.factId, integrationsFact?.id, ...plan.factIds, ...including.map((p) => p.factId));
    const target = including[0];
    const upgrade = findLink(catalog.links, 'upgrade') ?? findLink(catalog.links, '/plan', 'plan');
    const trial =
      (target &&
        catalog.links.find(
          (l) => /trial/i.test(`${l.key} ${l.url}`) && l.url.toLowerCase().includes(target.key.toLowerCase()),
        )) ??
      findLink(catalog.links, 'trial');
    const parts: string[] = [];
    if (upgrade && upgrade !== trial)
      parts.push(`- upgrade${target ? ` to ${target.name}` : ''}: ${upgrade.url}`);
    if (trial)
      parts.push(
        `- ${parts.length ? 'or ' : ''}try ${target ? target.name : 'it'} first with a free trial: ${trial.url}`,
      );
    if (parts.length)
      w.say(`If you would like to use it:\n${parts.join('\n')}`, upgrade?.factId, trial?.factId);
  }
  return handled;
}

function failingIntegrations(
  w: Writer,
  input: DraftInput,
  catalog: Catalog,
  ticketWords: Set<string>,
  handled: Set<string>,
  usedKb: Set<string>,
  signals: string[],
) {
  const fact = accountFacts(input.context.facts).ctx('integrations');
  if (!fact || !isRec(fact.value)) return;
  for (const [name, raw] of Object.entries(fact.value)) {
    if (!isRec(raw) || handled.has(name.toLowerCase())) continue;
    const status = String(raw.status ?? '');
    const lastError = str(raw.lastError);
    const failing = /error|fail|broken|expired|revoked|disconnected|degraded/i.test(status) || !!lastError;
    const mentioned =
      ticketWords.has(name.toLowerCase()) ||
      (wordSet(name).size > 0 && [...wordSet(name)].every((x) => ticketWords.has(x)));
    if (!failing && !(mentioned && /not|off|disabled/i.test(status))) continue;
    const label = titleCase(name);
    const since = str(raw.since);
    if (!failing) {
      const connect = catalog.links.find((l) =>
        `${l.key} ${l.url}`.toLowerCase().includes(name.toLowerCase()),
      );
      w.say(
        `Your ${label} integration is not connected at the moment${since ? ` (since ${formatWhen(since)})` : ''}.${connect ? ` You can connect it here: ${connect.url}` : ''}`,
        fact.id,
        connect?.factId,
      );
      w.findings++;
      continue;
    }
    signals.push('integration data missing error reconnect');
    w.findings++;
    const ago = since ? relativeDays(since, input.now) : null;
    w.say(
      `Your ${label} integration is in an error state${since ? ` since ${formatWhen(since)}${ago ? ` (${ago})` : ''}` : ''}${lastError ? `, with the error "${lastError}"` : ''}. While it is failing, data from ${label} does not reach us, which explains what you are seeing.`,
      fact.id,
    );
    const nameLc = name.toLowerCase();
    const recent = catalog.changelog.filter((c) => {
      if (!`${c.title} ${c.body}`.toLowerCase().includes(nameLc)) return false;
      const days = (input.now.getTime() - new Date(c.date).getTime()) / 86_400_000;
      return Number.isFinite(days) && days >= -1 && days <= 30;
    });
    for (const c of recent.slice(0, 2)) {
      w.say(`This lines up with our change of ${c.date}, "${c.title}": ${c.body}`, c.factId);
    }
    const reconnect =
      catalog.links.find(
        (l) => `${l.key} ${l.url}`.toLowerCase().includes(nameLc) && /connect/i.test(`${l.key} ${l.url}`),
      ) ?? catalog.links.find((l) => `${l.key} ${l.url}`.toLowerCase().includes(nameLc));
    if (reconnect) w.say(`To fix it, reconnect ${label} here: ${reconnect.url}`, reconnect.factId);
    const article = catalog.kb.find(
      (a) => `${a.title} ${a.body}`.toLowerCase().includes(nameLc) && !usedKb.has(a.factId),
    );
    if (article) {
      usedKb.add(article.factId);
      w.say(`From our help center ("${article.title}"): ${article.body}`, article.factId);
    }
  }
}

const AUTH_WORDS = wordSet(
  '401 403 unauthorized unauthorised forbidden authentication auth api key keys token',
);

function apiKeyProblems(
  w: Writer,
  input: DraftInput,
  catalog: Catalog,
  ticketWords: Set<string>,
  signals: string[],
) {
  const { ctx } = accountFacts(input.context.facts);
  const reqFact = ctx('apiRequests');
  if (!reqFact || !Array.isArray(reqFact.value)) return;
  const requests = reqFact.value.filter(isRec);
  const failing = requests.filter((r) => Number(r.status) >= 400);
  if (failing.length === 0) return;
  const codes = new Set(failing.map((r) => String(r.status)));
  if (!overlap(ticketWords, AUTH_WORDS).length && ![...codes].some((c) => ticketWords.has(c))) return;
  signals.push('api 401 403 key');
  w.findings++;
  const auditFact = ctx('auditLog');
  const audit = auditFact && Array.isArray(auditFact.value) ? auditFact.value.filter(isRec) : [];
  const keyOf = (e: Rec) => (isRec(e.detail) ? str(e.detail.keyPrefix) : null);
  const groups = new Map<string, { prefix: string; agent: string; status: string; count: number }>();
  for (const r of failing) {
    const prefix = str(r.keyPrefix) ?? 'unknown key';
    const agent = str(r.userAgent) ?? 'an unidentified client';
    const id = `${prefix}|${agent}|${r.status}`;
    const g = groups.get(id) ?? { prefix, agent, status: String(r.status), count: 0 };
    g.count += Number(r.count ?? 1) || 1;
    groups.set(id, g);
  }
  const working = new Map<string, { agents: Set<string>; count: number }>();
  for (const r of requests.filter((x) => Number(x.status) < 400)) {
    const prefix = str(r.keyPrefix);
    if (!prefix) continue;
    const e = working.get(prefix) ?? { agents: new Set<string>(), count: 0 };
    if (str(r.userAgent)) e.agents.add(String(r.userAgent));
    e.count += Number(r.count ?? 1) || 1;
    working.set(prefix, e);
  }
  const created = audit.filter((e) => /creat|rotat|issu/i.test(String(e.action ?? '')) && keyOf(e));
  for (const g of groups.values()) {
    let text = `In the recent request log, ${g.count} request${g.count === 1 ? '' : 's'} from ${g.agent} using the key ${g.prefix} got ${g.status}.`;
    const ended = audit.find(
      (e) => keyOf(e) === g.prefix && /revok|delet|rotat|expir|disabl/i.test(String(e.action ?? '')),
    );
    let replacement: string | null = null;
    if (ended) {
      const at = str(ended.at);
      const ago = at ? relativeDays(at, input.now) : null;
      const verb = humanize(String(ended.action).split('.').pop() ?? 'changed');
      text += ` According to the audit log, that key was ${verb}${at ? ` on ${formatWhen(at)}${ago ? ` (${ago})` : ''}` : ''}${str(ended.actor) ? ` by ${ended.actor}` : ''}.`;
      const endedAt = at ? new Date(at).getTime() : 0;
      const newer = created
        .filter((e) => keyOf(e) !== g.prefix)
        .sort(
          (a, b) =>
            Math.abs(new Date(String(a.at)).getTime() - endedAt) -
            Math.abs(new Date(String(b.at)).getTime() - endedAt),
        );
      replacement = newer[0] ? keyOf(newer[0]) : null;
    }
    replacement ??= [...working.entries()].sort((a, b) => b[1].count - a[1].count)[0]?.[0] ?? null;
    const ok = replacement ? working.get(replacement) : undefined;
    if (replacement) {
      text += ` The current key is ${replacement}`;
      text += ok?.agents.size
        ? `, which ${joinAnd([...ok.agents])} already uses successfully (${ok.count} requests).`
        : '.';
      text += ` Please update ${g.agent} to use ${replacement} instead of ${g.prefix}; that will stop the ${g.status}s.`;
    }
    w.say(text, reqFact.id, auditFact?.id);
  }
  const keysLink = findLink(catalog.links, 'api-key', 'apikey', 'api_key', 'keys');
  if (keysLink) w.say(`You can see and manage your API keys here: ${keysLink.url}`, keysLink.factId);
}

/** Words that say little about what happened ("user updated ..."). */
const WEAK_ACTION_WORDS = new Set(
  wordSet('user users updated update changed change created create set account'),
);

/**
 * Audit events that concern this requester (named in the event) or whose action words appear in
 * the ticket; API-key events are left to the request-log check when it already ran.
 */
function auditEvents(w: Writer, input: DraftInput, ticketWords: Set<string>, skipKeys: boolean) {
  const { ctx } = accountFacts(input.context.facts);
  const fact = ctx('auditLog');
  if (!fact || !Array.isArray(fact.value)) return;
  const email = input.ticket.requester.email?.toLowerCase() ?? '';
  const events = fact.value
    .filter(isRec)
    .filter((e) => {
      const at = str(e.at);
      const days = at ? (input.now.getTime() - new Date(at).getTime()) / 86_400_000 : 0;
      if (days > 60) return false;
      if (skipKeys && isRec(e.detail) && e.detail.keyPrefix) return false;
      const action = String(e.action ?? '');
      const aboutMe =
        email !== '' &&
        JSON.stringify(e.detail ?? {})
          .toLowerCase()
          .includes(email);
      const words = overlap(wordSet(humanize(action.replace(/\./g, ' '))), ticketWords).filter(
        (x) => !WEAK_ACTION_WORDS.has(x),
      );
      return aboutMe || words.length > 0;
    })
    .sort((a, b) => String(b.at ?? '').localeCompare(String(a.at ?? '')))
    .slice(0, 3);
  for (const e of events) {
    const at = str(e.at);
    const ago = at ? relativeDays(at, input.now) : null;
    const detail = isRec(e.detail)
      ? Object.entries(e.detail)
          .filter(([, v]) => typeof v === 'string' || typeof v === 'number')
          .map(([k, v]) => `${humanize(k)}: ${String(v)}`)
          .join(', ')
      : '';
    w.findings++;
    w.say(
      `Our audit log shows${at ? ` on ${formatWhen(at)}${ago ? ` (${ago})` : ''}` : ''}: ${humanize(String(e.action ?? 'change').replace(/\./g, ' '))}${detail ? ` (${detail})` : ''}${str(e.actor) ? `, by ${e.actor}` : ''}.`,
      fact.id,
    );
  }
}

/** An earlier ticket of the account or requester on the same subject (two or more shared words). */
function relatedTickets(w: Writer, input: DraftInput, ticketWords: Set<string>) {
  const facts = input.context.facts.filter(
    (f) =>
      (f.source === 'context_api' && f.key === 'recentTickets') ||
      (f.id.startsWith('zendesk:') && f.key.endsWith('Tickets')),
  );
  const seen = new Set<string>();
  for (const f of facts) {
    if (!Array.isArray(f.value)) continue;
    for (const t of f.value.filter(isRec)) {
      const id = String(t.id ?? '');
      const subject = str(t.subject);
      if (!id || !subject || seen.has(id) || id === input.ticket.id) continue;
      if (overlap(wordSet(subject), ticketWords).length < 2) continue;
      seen.add(id);
      w.say(
        `This looks related to your earlier ticket #${id} ("${subject}"${str(t.status) ? `, ${t.status}` : ''}).`,
        f.id,
      );
      if (seen.size >= 2) return;
    }
  }
}

/**
 * Account tickets about one of the account's own customers: records whose identifier (or the
 * customer's email) the ticket names. The account may see its customers' records.
 */
function customerRecords(w: Writer, input: DraftInput) {
  const { ctx } = accountFacts(input.context.facts);
  const fact = ctx('endUsers');
  if (!fact || !Array.isArray(fact.value)) return;
  const text = `${input.ticket.subject} ${input.ticket.body}`;
  const lower = text.toLowerCase();
  const ids = new Set((text.match(/[A-Za-z0-9_-]*\d[A-Za-z0-9_-]*/g) ?? []).filter((t) => t.length >= 3));
  for (const eu of fact.value.filter(isRec)) {
    const email = str(eu.email);
    const who = `${str(eu.name) ?? 'your customer'}${email ? ` (${email})` : ''}`;
    const named = !!email && lower.includes(email.toLowerCase());
    const records = isRec(eu.records) ? eu.records : {};
    for (const [collection, items] of Object.entries(records)) {
      if (!Array.isArray(items)) continue;
      for (const item of items.filter(isRec)) {
        const hit = Object.values(item).some(
          (v) => (typeof v === 'string' || typeof v === 'number') && ids.has(String(v)),
        );
        if (!hit) continue;
        const details = Object.entries(item)
          .filter(([k, v]) => k !== 'id' && (v === null || !(isRec(v) || Array.isArray(v))))
          .map(([k, v]) => `${humanize(k)}: ${v === null ? 'not yet' : String(v)}`);
        w.findings++;
        w.say(
          `${titleCase(singular(collection))} ${String(item.id ?? '')} of ${who}: ${details.join(', ')}.`,
          fact.id,
        );
      }
    }
    if (named && w.findings === 0) {
      w.say(`${who} is one of your customers in our records.`, fact.id);
    }
  }
}

const ROLE_WORDS = /\b(role|roles|admin|admins|administrator|owner|owners|permission|permissions)\b/i;

function roleCheck(w: Writer, input: DraftInput, catalog: Catalog, book: Playbook, ticketWords: Set<string>) {
  const { ctx, name: accountName } = accountFacts(input.context.facts);
  const usersFact = ctx('users');
  const users = usersFact && Array.isArray(usersFact.value) ? usersFact.value.filter(isRec) : [];
  if (users.length === 0) return false;
  const email = input.ticket.requester.email?.toLowerCase() ?? '';
  const me = users.find((u) => String(u.email ?? '').toLowerCase() === email);
  const roles = new Set(users.map((u) => String(u.role ?? '').toLowerCase()).filter(Boolean));
  // Steps like "Admins: give the link" name the roles allowed to act; owners always are.
  const privileged = new Set<string>(['owner']);
  for (const step of book.steps) {
    const m = /^([^:]{1,60}):/.exec(step.trim());
    if (!m) continue;
    for (const part of m[1]!.toLowerCase().split(/,|\band\b|\bor\b|\//)) {
      const role = singular(part.trim());
      if (role && role !== 'other' && (roles.has(role) || ROLE_WORDS.test(role))) privileged.add(role);
    }
  }
  if (privileged.size === 1) privileged.add('admin');
  const myRole = me ? String(me.role ?? '').toLowerCase() : null;
  const bookWords = wordSet(`${book.when} ${book.steps.join(' ')}`);
  const words = new Set([...ticketWords, ...bookWords]);
  const roleNames = [...privileged].map((r) => `${r}s`);
  w.findings++;
  if (myRole && privileged.has(myRole)) {
    const link = bestLink(catalog.links, words);
    w.say(
      `You are ${/^[aeiou]/i.test(myRole) ? 'an' : 'a'} ${myRole} on the ${accountName ?? 'account'}${accountName ? ' account' : ''}, so you can make this change yourself${link ? `: ${link.url}` : '.'}`,
      usersFact?.id,
      link?.factId,
    );
    return true;
  }
  const admins = users.filter((u) => privileged.has(String(u.role ?? '').toLowerCase()));
  const who = admins.map((u) => `${String(u.name ?? u.email)} (${String(u.role)})`);
  w.say(
    `${myRole ? `Your role on the ${accountName ?? 'account'}${accountName ? ' account' : ''} is ${myRole}, and only` : 'Only'} ${joinAnd(roleNames)} can make this change.${who.length ? ` The account's ${joinAnd(roleNames)}: ${joinAnd(who)}. Please ask one of them to make the change for you, or to give you the access you need.` : ''}`,
    usersFact?.id,
  );
  return true;
}

function endUserRecords(w: Writer, input: DraftInput, ticketWords: Set<string>) {
  const records = input.context.facts.filter((f) => f.key === 'records' && f.visibility === 'end_user');
  const ids = new Set(
    (`${input.ticket.subject} ${input.ticket.body}`.match(/[A-Za-z0-9_-]*\d[A-Za-z0-9_-]*/g) ?? []).filter(
      (t) => t.length >= 3,
    ),
  );
  let found = false;
  for (const fact of records) {
    if (!isRec(fact.value)) continue;
    for (const [collection, items] of Object.entries(fact.value)) {
      if (!Array.isArray(items)) continue;
      for (const item of items.filter(isRec)) {
        const idVal = item.id ?? item.number ?? item.reference;
        const matches = Object.values(item).some(
          (v) => (typeof v === 'string' || typeof v === 'number') && ids.has(String(v)),
        );
        if (!matches) continue;
        found = true;
        w.findings++;
        const details = Object.entries(item)
          .filter(([k]) => !['id', 'number', 'reference'].includes(k))
          .map(([k, v]) =>
            v === null
              ? `${humanize(k)}: not yet`
              : isRec(v) || Array.isArray(v)
                ? null
                : `${humanize(k)}: ${String(v)}`,
          )
          .filter((s): s is string => !!s);
        w.say(
          `I found your ${humanize(singular(collection))} ${String(idVal ?? '')}: ${details.join(', ')}.`,
          fact.id,
        );
      }
    }
    const scalars = Object.entries(fact.value).filter(
      ([, v]) => typeof v === 'number' || typeof v === 'string',
    );
    const relevant = scalars.filter(([k]) => overlap(wordSet(humanize(k)), ticketWords).length > 0);
    for (const [k, v] of relevant) w.say(`Your ${humanize(k)} is currently ${String(v)}.`, fact.id);
    // Single records (a subscription, a membership) the ticket talks about.
    for (const [k, v] of Object.entries(fact.value)) {
      if (!isRec(v) || overlap(wordSet(humanize(k)), ticketWords).length === 0) continue;
      const parts = Object.entries(v)
        .filter(
          ([, x]) => x === null || typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean',
        )
        .map(([f, x]) => `${humanize(f)}: ${x === null ? 'not set' : String(x)}`);
      if (parts.length) {
        found = true;
        w.findings++;
        w.say(`Your ${humanize(k)}: ${parts.join(', ')}.`, fact.id);
      }
    }
    if (!found) {
      const summary: string[] = [];
      for (const [collection, items] of Object.entries(fact.value)) {
        if (!Array.isArray(items) || items.length === 0) continue;
        const refs = items
          .filter(isRec)
          .slice(0, 3)
          .map((i) => String(i.id ?? ''))
          .filter(Boolean);
        summary.push(
          `${items.length} ${humanize(items.length === 1 ? singular(collection) : collection)}${refs.length ? ` (${refs.join(', ')})` : ''}`,
        );
      }
      if (summary.length) {
        w.say(
          `I can see ${joinAnd(summary)} on your profile. Could you tell me which one your question is about?`,
          fact.id,
        );
        w.findings++;
      }
    }
  }
  return found;
}

function closing(
  w: Writer,
  catalog: Catalog,
  words: Set<string>,
  usedKb: Set<string>,
  level: DraftInput['context']['level'],
) {
  const article = catalog.kb.find((a) => !usedKb.has(a.factId));
  if (article && (level !== 'account' || w.paragraphs.length < 4)) {
    usedKb.add(article.factId);
    w.say(`From our help center ("${article.title}"): ${article.body}`, article.factId);
  }
  if (level !== 'account') {
    const link = bestLink(
      catalog.links.filter((l) => !w.paragraphs.some((p) => p.includes(l.url))),
      words,
    );
    if (link) w.say(`More help: ${link.url}`, link.factId);
  }
}

export function createOfflineDrafter(): Drafter {
  return {
    name: 'offline',
    async draft(input: DraftInput): Promise<DraftResult> {
      const { context, ticket } = input;
      const facts = context.facts;
      const catalog = readCatalog(facts);
      const ticketText = `${ticket.subject}\n${ticket.body}`;
      const ticketWords = wordSet(ticketText);
      const w = new Writer();
      const usedKb = new Set<string>();
      const signals: string[] = [];
      const books = playbooksOf(facts);

      if (context.level === 'unknown') {
        w.say(
          'Thanks for getting in touch. We could not match your email address to an account with us, so we cannot look up any account details yet. Could you tell us the name of your workspace or account, and write from (or copy) the email address registered there? An admin of the account can also contact us and confirm you.',
        );
        closing(w, catalog, ticketWords, usedKb, context.level);
      } else if (context.level === 'end_user') {
        endUserRecords(w, input, ticketWords);
        if (w.findings === 0)
          w.say(
            'Could you send us the order number or reference your question is about, so we can check it for you?',
          );
        // The matching playbook's words help pick the public link ("pickup" for "pick up").
        const guidance = matchPlaybooks(books, ticketText).slice(0, 1);
        const words = new Set([...ticketWords, ...guidance.flatMap((m) => [...wordSet(m.book.when)])]);
        closing(w, catalog, words, usedKb, context.level);
      } else {
        const handled = planGatedFeatures(w, input, catalog, ticketWords, signals);
        failingIntegrations(w, input, catalog, ticketWords, handled, usedKb, signals);
        const before = w.findings;
        apiKeyProblems(w, input, catalog, ticketWords, signals);
        auditEvents(w, input, ticketWords, w.findings > before);
        relatedTickets(w, input, ticketWords);
        customerRecords(w, input);
        const matched = matchPlaybooks(books, ticketText, signals);
        const roleBook = matched.find((m) => ROLE_WORDS.test(`${m.book.when} ${m.book.steps.join(' ')}`));
        if (roleBook) roleCheck(w, input, catalog, roleBook.book, ticketWords);
        if (w.findings === 0)
          w.say(
            'Thanks for your message. I could not find anything in your account that explains this yet, so a colleague will look into it and get back to you.',
          );
        closing(w, catalog, ticketWords, usedKb, context.level);
      }

      const matched = matchPlaybooks(books, ticketText, signals);
      for (const m of matched.slice(0, 1)) w.cited.add(m.book.factId);
      const greeting = firstName(ticket.requester.name);
      const reply = [`Hi${greeting ? ` ${greeting}` : ''},`, ...w.paragraphs, 'Best regards,'].join('\n\n');
      const reasons: string[] = [];
      if (context.missing.length)
        reasons.push(
          `Context incomplete: ${context.missing.map((m) => `${m.source} (${m.reason})`).join(', ')}.`,
        );
      if (context.level === 'unknown') reasons.push('The requester could not be matched to an account.');
      else if (w.findings === 0)
        reasons.push('No specific finding in the context; check the draft before sending.');
      const known = new Set(facts.map((f) => f.id));
      return {
        reply,
        citedFactIds: [...w.cited].filter((id) => known.has(id)),
        confidence:
          context.level === 'unknown' ? 0.5 : w.findings === 0 ? 0.3 : context.missing.length ? 0.6 : 0.8,
        needsHumanReason: reasons.length ? reasons.join(' ') : null,
        drafter: 'offline',
        model: null,
      };
    },
  };
}
