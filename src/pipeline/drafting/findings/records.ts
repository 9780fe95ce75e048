import { humanize, overlap, singular, titleCase, wordSet } from '../text.ts';
import {
  accountFacts,
  type FindingInput,
  isRec,
  type Rec,
  showValue,
  str,
  type Writer,
  whenText,
} from './shared.ts';

/**
 * Records read as answers: audit events as "who changed what from what to what, when"; an end
 * user's own records (the one the ticket names, its fields relevant to the question first, empty
 * ones as "not yet"); an account's customer records the ticket names; earlier related tickets.
 */

/** Identifiers the ticket names: tokens with a digit (order 1042, INV-77, #A12). */
export function namedIds(text: string): Set<string> {
  return new Set((text.match(/[A-Za-z0-9_-]*\d[A-Za-z0-9_-]*/g) ?? []).filter((t) => t.length >= 3));
}

const ID_KEYS = ['id', 'number', 'reference', 'ref', 'code'];

/** A record's fields as the draft shows them: the ones the ticket asks about first. */
export function describeRecord(f: FindingInput, item: Rec, skip: string[] = ID_KEYS): string[] {
  const fields = Object.entries(item).filter(([k]) => !skip.includes(k));
  const relevance = (k: string) => overlap(wordSet(humanize(k)), f.ticketWords).length;
  return fields
    .map(([k, v], i) => ({ k, v, i, r: relevance(k) }))
    .sort((a, b) => b.r - a.r || a.i - b.i)
    .map(({ k, v }) => {
      const shown = showValue(f.p, v);
      return shown === null ? null : `${humanize(k)}: ${shown}`;
    })
    .filter((s): s is string => !!s);
}

const FROM = /^(from|old|previous|prev|before)_?(.*)$|^(.*?)_?(from|old|before|previous)$/i;
const TO = /^(to|new|current|after)_?(.*)$|^(.*?)_?(to|new|after|current)$/i;

const scalar = (v: unknown) =>
  v === null
    ? 'none'
    : typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'
      ? String(v)
      : null;

/** `{ from: "admin", to: "member" }` or `{ oldRole, newRole }` -> the field and both values. */
export function changeOf(action: string, detail: Rec): { field: string; from: string; to: string } | null {
  const keys = Object.keys(detail);
  for (const k of keys) {
    const m = FROM.exec(k);
    if (!m) continue;
    const rest = (m[2] ?? m[3] ?? '').toLowerCase();
    const other = keys.find((x) => {
      const t = TO.exec(x);
      return t && (t[2] ?? t[3] ?? '').toLowerCase() === rest && x !== k;
    });
    if (!other) continue;
    const a = scalar(detail[k]);
    const b = scalar(detail[other]);
    if (a === null || b === null) continue;
    const field = rest
      ? humanize(rest)
      : humanize(
          action
            .split(/[._]/)
            .filter((x) => !/^(changed?|updated?|set)$/i.test(x))
            .pop() ?? 'value',
        );
    return { field, from: a, to: b };
  }
  return null;
}

const WEAK_ACTION_WORDS = new Set(
  wordSet('user users updated update changed change created create set account'),
);

/** Audit events about the requester or whose action the ticket talks about (last 60 days). */
export function auditEvents(w: Writer, f: FindingInput, skipKeys: boolean) {
  const { input, ticketWords, p } = f;
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
      if (skipKeys && isRec(e.detail) && (e.detail.keyPrefix || e.detail.key)) return false;
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
    .map((e) => ({
      e,
      me:
        email !== '' &&
        JSON.stringify(e.detail ?? {})
          .toLowerCase()
          .includes(email),
    }))
    // Events about the requester answer "what happened to me"; other matches only without them.
    .filter((x, _i, all) => x.me || !all.some((y) => y.me))
    .map((x) => x.e)
    .sort((a, b) => String(b.at ?? '').localeCompare(String(a.at ?? '')))
    .slice(0, 3);
  for (const e of events) {
    const action = String(e.action ?? 'change');
    const detail = isRec(e.detail) ? e.detail : {};
    const change = changeOf(action, detail);
    const changeKeys = change ? Object.keys(detail).filter((k) => FROM.test(k) || TO.test(k)) : [];
    const rest = Object.entries(detail)
      .filter(([k, v]) => !changeKeys.includes(k) && (typeof v === 'string' || typeof v === 'number'))
      .map(([k, v]) => `${humanize(k)}: ${String(v)}`)
      .join(', ');
    w.findings++;
    w.say(
      p.auditEvent(
        whenText(p, str(e.at), input.now),
        str(e.actor),
        change ? p.changedFromTo(change.field, change.from, change.to) : humanize(action.replace(/\./g, ' ')),
        null,
        rest || null,
      ),
      fact.id,
    );
  }
}

/** An end user's own records: the one the ticket names, else the one field it asks about, else a choice. */
export function endUserRecords(w: Writer, f: FindingInput): boolean {
  const { input, ticketText, ticketWords, p } = f;
  const records = input.context.facts.filter((x) => x.key === 'records' && x.visibility === 'end_user');
  const ids = namedIds(ticketText);
  let found = false;
  for (const fact of records) {
    if (!isRec(fact.value)) continue;
    for (const [collection, items] of Object.entries(fact.value)) {
      if (!Array.isArray(items)) continue;
      for (const item of items.filter(isRec)) {
        const idKey = ID_KEYS.find((k) => k in item);
        const matches = Object.values(item).some(
          (v) => (typeof v === 'string' || typeof v === 'number') && ids.has(String(v)),
        );
        if (!matches) continue;
        found = true;
        w.findings++;
        w.say(
          p.recordFound(
            humanize(singular(collection)),
            String(idKey ? item[idKey] : ''),
            describeRecord(f, item),
          ),
          fact.id,
        );
      }
    }
    for (const [k, v] of Object.entries(fact.value)) {
      if (overlap(wordSet(humanize(k)), ticketWords).length === 0) continue;
      if (typeof v === 'number' || typeof v === 'string') {
        found = true;
        w.findings++;
        w.say(p.yourValue(humanize(k), String(v)), fact.id);
      } else if (isRec(v)) {
        const parts = describeRecord(f, v, []);
        if (!parts.length) continue;
        found = true;
        w.findings++;
        w.say(p.recordFound(humanize(k), '', parts).replace(/ {2,}/g, ' ').replace(/ :/, ':'), fact.id);
      }
    }
    if (!found) {
      const summary: string[] = [];
      for (const [collection, items] of Object.entries(fact.value)) {
        if (!Array.isArray(items) || items.length === 0) continue;
        const refs = items
          .filter(isRec)
          .slice(0, 3)
          .map((i) => String(i.id ?? i.number ?? i.reference ?? ''))
          .filter(Boolean);
        summary.push(
          `${items.length} ${humanize(items.length === 1 ? singular(collection) : collection)}${refs.length ? ` (${refs.join(', ')})` : ''}`,
        );
      }
      if (summary.length) {
        w.say(p.chooseRecord(summary), fact.id);
        w.findings++;
      }
    }
  }
  return found;
}

/** An account's customer records the ticket names (an account may see its own customers' records). */
export function customerRecords(w: Writer, f: FindingInput) {
  const { input, ticketText, p } = f;
  const fact = accountFacts(input.context.facts).ctx('endUsers');
  if (!fact || !Array.isArray(fact.value)) return;
  const lower = ticketText.toLowerCase();
  const ids = namedIds(ticketText);
  for (const eu of fact.value.filter(isRec)) {
    const email = str(eu.email);
    const who = `${str(eu.name) ?? 'your customer'}${email ? ` (${email})` : ''}`;
    const named = !!email && lower.includes(email.toLowerCase());
    const records = isRec(eu.records) ? eu.records : {};
    let hits = 0;
    for (const [collection, items] of Object.entries(records)) {
      if (!Array.isArray(items)) continue;
      for (const item of items.filter(isRec)) {
        const hit = Object.values(item).some(
          (v) => (typeof v === 'string' || typeof v === 'number') && ids.has(String(v)),
        );
        if (!hit) continue;
        hits++;
        w.findings++;
        const idKey = ID_KEYS.find((k) => k in item);
        w.say(
          p.customerRecord(
            titleCase(singular(collection)),
            String(idKey ? item[idKey] : ''),
            who,
            describeRecord(f, item),
          ),
          fact.id,
        );
      }
    }
    if (named && hits === 0) w.say(p.customerKnown(who), fact.id);
  }
}

/** An earlier ticket of the account or requester on the same subject (two or more shared words). */
export function relatedTickets(w: Writer, f: FindingInput) {
  const { input, ticketWords, p } = f;
  const facts = input.context.facts.filter(
    (x) =>
      (x.source === 'context_api' && x.key === 'recentTickets') ||
      (x.id.startsWith('zendesk:') && x.key.endsWith('Tickets')),
  );
  const seen = new Set<string>();
  for (const fact of facts) {
    if (!Array.isArray(fact.value)) continue;
    for (const t of fact.value.filter(isRec)) {
      const id = String(t.id ?? '');
      const subject = str(t.subject);
      if (!id || !subject || seen.has(id) || id === input.ticket.id) continue;
      if (overlap(wordSet(subject), ticketWords).length < 2) continue;
      seen.add(id);
      w.say(p.relatedTicket(id, subject, str(t.status)), fact.id);
      if (seen.size >= 2) return;
    }
  }
}
