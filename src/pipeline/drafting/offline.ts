import { apiKeyProblems } from './findings/api-keys.ts';
import { changelogEntries } from './findings/changelog.ts';
import { integrationState } from './findings/integrations.ts';
import { knowledgeBase } from './findings/knowledge-base.ts';
import { planGatedFeatures } from './findings/plan-gated.ts';
import { privateRequest } from './findings/private-request.ts';
import { auditEvents, customerRecords, endUserRecords, relatedTickets } from './findings/records.ts';
import { isRolePlaybook, roleCheck } from './findings/roles.ts';
import { accountFacts, bestLink, findingInput, isRec, Writer } from './findings/shared.ts';
import { isActionable, readInstruction } from './instruction.ts';
import { DRAFT_LANGUAGES, detectLanguage, draftLanguage, LANGUAGE_NAMES, type Lang } from './language.ts';
import { matchPlaybooks, playbooksOf } from './playbooks.ts';
import { firstName, wordSet } from './text.ts';
import type { Drafter, DraftInput, DraftResult } from './types.ts';

/**
 * The drafter used when no model is configured (and the fallback when the model fails).
 * Deterministic and grounded: every sentence is built from a context fact (cited by id) by one
 * finding module per kind of situation (src/pipeline/drafting/findings/): a feature the plan
 * lacks, an integration's state, API keys against the request log, roles and permissions,
 * records, changelog entries, knowledge-base articles that answer, and a polite refusal when an
 * end user asks for the merchant's private facts. It writes in the ticket's language (en, de,
 * es, fr, pt; others get English and a note that the draft needs translation). It never reads
 * facts the level did not load, so what it can say is bounded by the loader.
 */
export interface OfflineDraft extends DraftResult {
  language: Lang;
  detectedLanguage: string | null;
}

export function draftOffline(input: DraftInput): OfflineDraft {
  const { context, ticket } = input;
  const detected = detectLanguage(`${ticket.subject}\n${ticket.body}`);
  const instruction = readInstruction(input.instruction);
  const fixed = input.replyLanguage && input.replyLanguage !== 'auto' ? input.replyLanguage : undefined;
  const lang = instruction?.language ?? fixed ?? draftLanguage(detected);
  const books = playbooksOf(context.facts);
  const f = findingInput(input, lang, books);
  const { p } = f;
  const w = new Writer();

  if (context.level === 'unknown') {
    w.say(p.unknownRequester);
    knowledgeBase(w, f);
  } else if (context.level === 'end_user') {
    privateRequest(w, f);
    const own = endUserRecords(w, f);
    if (w.findings === 0) w.say(p.askReference);
    // The matching playbook's words help pick the public link ("pickup" for "pick up").
    const guidance = matchPlaybooks(books, f.ticketText).slice(0, 1);
    const words = new Set([...f.ticketWords, ...guidance.flatMap((m) => [...wordSet(m.book.when)])]);
    knowledgeBase(w, f, { words: own ? f.ticketWords : words });
    const link = bestLink(
      f.catalog.links.filter((l) => !w.paragraphs.some((x) => x.includes(l.url))),
      words,
      w.usedLinks,
    );
    if (link) w.say(p.moreHelp(link.url), link.factId);
  } else {
    const handled = planGatedFeatures(w, f);
    const integrations = integrationState(w, f, handled);
    changelogEntries(w, f, integrations, handled);
    const keys = apiKeyProblems(w, f);
    auditEvents(w, f, keys);
    relatedTickets(w, f);
    customerRecords(w, f);
    const usersFact = accountFacts(context.facts).ctx('users');
    const roles =
      usersFact && Array.isArray(usersFact.value)
        ? usersFact.value.filter(isRec).map((u) => String(u.role ?? ''))
        : [];
    const matched = matchPlaybooks(books, f.ticketText, w.signals);
    const roleBook = matched.find((m) => isRolePlaybook(m.book, roles));
    if (roleBook) roleCheck(w, f, roleBook.book);
    const kbWords = new Set([...f.ticketWords, ...integrations.flatMap((n) => [...wordSet(n)])]);
    const quoted = w.paragraphs.length < 4 ? knowledgeBase(w, f, { words: kbWords }) : 0;
    if (w.findings === 0 && quoted === 0) w.paragraphs.unshift(p.nothingFound);
    if (quoted > 0 && w.findings === 0) w.findings++;
  }

  const matched = matchPlaybooks(books, f.ticketText, w.signals);
  const playbook = matched[0]?.book ?? null;
  if (playbook) w.cited.add(playbook.factId);
  let paragraphs = w.paragraphs;
  let cited = [...w.cited];
  if (instruction?.shorter) {
    paragraphs = shorten(paragraphs);
    // Citations of dropped paragraphs go with them (facts cited outside a paragraph stay).
    const kept = new Set(paragraphs.flatMap((x) => w.citedBy.get(x) ?? []));
    const dropped = new Set(
      w.paragraphs.filter((x) => !paragraphs.includes(x)).flatMap((x) => w.citedBy.get(x) ?? []),
    );
    cited = cited.filter((id) => kept.has(id) || !dropped.has(id));
  }
  const name = firstName(ticket.requester.name);
  const reply = [
    instruction?.formal ? FORMAL[lang].greeting(name) : p.greeting(name),
    ...paragraphs,
    instruction?.formal ? FORMAL[lang].signoff : p.signoff,
  ].join('\n\n');
  const reasons: string[] = [];
  if (input.instruction && !isActionable(instruction))
    reasons.push(
      'The offline drafter could not apply the instruction (it understands another language, shorter and more formal).',
    );
  if (context.missing.length)
    reasons.push(
      `Context incomplete: ${context.missing.map((m) => `${m.source} (${m.reason})`).join(', ')}.`,
    );
  if (context.level === 'unknown') reasons.push('The requester could not be matched to an account.');
  else if (w.findings === 0)
    reasons.push('No specific finding in the context; check the draft before sending.');
  reasons.push(...w.reasons);
  if (
    !instruction?.language &&
    !fixed &&
    detected &&
    detected !== 'en' &&
    !DRAFT_LANGUAGES.includes(detected as Lang)
  )
    reasons.push(
      `The ticket appears to be written in ${LANGUAGE_NAMES[detected] ?? detected}; this draft is in English and needs translation.`,
    );
  const known = new Set(context.facts.map((x) => x.id));
  const confidence =
    context.level === 'unknown'
      ? 0.5
      : w.findings === 0
        ? 0.3
        : w.reasons.length
          ? 0.5
          : context.missing.length
            ? 0.6
            : 0.8;
  return {
    reply,
    citedFactIds: cited.filter((id) => known.has(id)),
    confidence,
    needsHumanReason: reasons.length ? reasons.join(' ') : null,
    drafter: 'offline',
    model: null,
    playbookKey: playbook?.key ?? null,
    language: lang,
    detectedLanguage: detected,
  };
}

/** At most two paragraphs (half of them, rounded up); a single paragraph keeps its first sentence. */
function shorten(paragraphs: string[]): string[] {
  if (paragraphs.length > 1) return paragraphs.slice(0, Math.min(2, Math.ceil(paragraphs.length / 2)));
  const [only] = paragraphs;
  if (!only) return paragraphs;
  const first = /^.+?[.!?](?=\s|$)/su.exec(only)?.[0];
  return [first && first.length < only.length ? first : only];
}

/** Greeting and sign-off when the agent asked for a more formal reply. */
const FORMAL: Record<Lang, { greeting: (name: string | null) => string; signoff: string }> = {
  en: { greeting: (n) => (n ? `Dear ${n},` : 'Dear Sir or Madam,'), signoff: 'Kind regards,' },
  de: {
    greeting: (n) => (n ? `Guten Tag ${n},` : 'Sehr geehrte Damen und Herren,'),
    signoff: 'Mit freundlichen Grüßen',
  },
  es: { greeting: (n) => (n ? `Estimado/a ${n}:` : 'Estimado/a cliente:'), signoff: 'Atentamente,' },
  fr: {
    greeting: (n) => (n ? `Bonjour ${n},` : 'Madame, Monsieur,'),
    signoff: 'Veuillez agréer nos salutations distinguées,',
  },
  pt: { greeting: (n) => (n ? `Prezado(a) ${n},` : 'Prezado(a) cliente,'), signoff: 'Atenciosamente,' },
};

export function createOfflineDrafter(): Drafter {
  return {
    name: 'offline',
    async draft(input: DraftInput): Promise<DraftResult> {
      const { language: _l, detectedLanguage: _d, ...result } = draftOffline(input);
      return result;
    },
  };
}
