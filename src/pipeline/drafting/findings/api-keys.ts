import { humanize, overlap, wordSet } from '../text.ts';
import {
  accountFacts,
  type FindingInput,
  isRec,
  linkFor,
  type Rec,
  str,
  type Writer,
  whenText,
} from './shared.ts';

const AUTH_WORDS = wordSet(
  '401 403 unauthorized unauthorised forbidden authentication auth api key keys token tokens credential credentials schlüssel clave clé chave',
);
const KEY_LINK = ['api keys', 'api key', 'keys', 'api tokens', 'tokens', 'credentials', 'developer'];

/**
 * Failing API requests (from the request log) grouped by key and client, matched to the audit
 * log's key events: which key was rotated or revoked, when and by whom, which key works now and
 * which client still sends the old one. Runs only when the ticket is about auth errors or names
 * a failing status code.
 */
export function apiKeyProblems(w: Writer, f: FindingInput): boolean {
  const { input, catalog, ticketWords, p } = f;
  const { ctx } = accountFacts(input.context.facts);
  const reqFact = ctx('apiRequests');
  if (!reqFact || !Array.isArray(reqFact.value)) return false;
  const requests = reqFact.value.filter(isRec);
  const failing = requests.filter((r) => Number(r.status) >= 400);
  if (failing.length === 0) return false;
  const codes = new Set(failing.map((r) => String(r.status)));
  if (!overlap(ticketWords, AUTH_WORDS).length && ![...codes].some((c) => ticketWords.has(c))) return false;
  w.signals.push('api 401 403 key');
  w.findings++;
  const auditFact = ctx('auditLog');
  const audit = auditFact && Array.isArray(auditFact.value) ? auditFact.value.filter(isRec) : [];
  const keyOf = (e: Rec) => (isRec(e.detail) ? (str(e.detail.keyPrefix) ?? str(e.detail.key)) : null);
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
  const created = audit.filter((e) => /creat|rotat|issu|generat/i.test(String(e.action ?? '')) && keyOf(e));
  for (const g of groups.values()) {
    let text = p.requestGroup(g.count, g.agent, g.prefix, g.status);
    const ended = audit.find(
      (e) => keyOf(e) === g.prefix && /revok|delet|rotat|expir|disabl/i.test(String(e.action ?? '')),
    );
    let replacement: string | null = null;
    if (ended) {
      const at = str(ended.at);
      const verb = humanize(String(ended.action).split('.').pop() ?? 'changed');
      text += ` ${p.keyEnded(verb, whenText(p, at, input.now), str(ended.actor))}`;
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
    if (replacement && replacement !== g.prefix) {
      const ok = working.get(replacement);
      text += ` ${p.currentKey(replacement, ok ? [...ok.agents] : [], ok?.count ?? 0)}`;
      text += ` ${p.updateClient(g.agent, replacement, g.prefix, g.status)}`;
    }
    w.say(text, reqFact.id, ended ? auditFact?.id : null);
  }
  const keysLink = linkFor(catalog.links, KEY_LINK);
  if (keysLink) {
    w.usedLinks.add(keysLink.factId);
    w.say(p.manageKeys(keysLink.url), keysLink.factId);
  }
  return true;
}
