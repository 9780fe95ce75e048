import { formatWhen, titleCase, wordSet } from '../text.ts';
import { CONNECTED } from './plan-gated.ts';
import {
  accountFacts,
  type FindingInput,
  isRec,
  linkFor,
  linkNaming,
  str,
  type Writer,
  whenText,
} from './shared.ts';

/** Statuses that mean the integration is failing. */
const FAILING = /error|fail|broken|expired|revoked|invalid|degraded|suspended|unauthori[sz]ed|paused/i;
/** Statuses that mean it is simply not connected. */
const OFF =
  /^(not[ _-]?connected|disconnected|off|disabled|inactive|none|not[ _-]?set[ _-]?up|uninstalled)$/i;

/** Which way an integration's data flows, when the data says so. */
export function direction(raw: Record<string, unknown>): 'inbound' | 'outbound' | 'both' | null {
  const d = String(raw.direction ?? raw.flow ?? raw.sync ?? '').toLowerCase();
  if (/both|two[ -]?way|bi/.test(d)) return 'both';
  if (/^(in|inbound|import|pull|from|source|incoming)/.test(d)) return 'inbound';
  if (/^(out|outbound|export|push|to|destination|outgoing)/.test(d)) return 'outbound';
  return null;
}

/**
 * Integrations in a failing state (or the one the ticket names, when it is not connected):
 * status, since and last error as the data gives them, what that means for the data given its
 * direction, the reconnect link (purpose `reconnect`/`connect`, or a link naming it) and a KB
 * article about it. Returns the names it explained.
 */
export function integrationState(w: Writer, f: FindingInput, handled: Set<string>): string[] {
  const { input, catalog, ticketWords, p } = f;
  const fact = accountFacts(input.context.facts).ctx('integrations');
  if (!fact || !isRec(fact.value)) return [];
  const explained: string[] = [];
  for (const [name, raw] of Object.entries(fact.value)) {
    if (!isRec(raw) || handled.has(name.toLowerCase())) continue;
    const status = String(raw.status ?? '').trim();
    const lastError = str(raw.lastError) ?? str(raw.error);
    const failing = (FAILING.test(status) || !!lastError) && !CONNECTED.test(status);
    const nameWords = wordSet(name);
    const mentioned = nameWords.size > 0 && [...nameWords].every((x) => ticketWords.has(x));
    if (!failing && !(mentioned && OFF.test(status))) continue;
    const label = titleCase(name);
    const since = str(raw.since);
    const named = catalog.links.filter((l) => l.url.toLowerCase().includes(name.toLowerCase()));
    const reconnect =
      linkFor(named, ['reconnect', 'connect', 'integration', 'integrations']) ??
      linkNaming(catalog.links, name) ??
      linkFor(catalog.links, ['reconnect']);
    explained.push(name.toLowerCase());
    w.findings++;
    if (!failing) {
      w.say(
        p.integrationNotConnected(label, status, since ? formatWhen(since) : null, reconnect?.url ?? null),
        fact.id,
        reconnect?.factId,
      );
      if (reconnect) w.usedLinks.add(reconnect.factId);
      continue;
    }
    w.signals.push('integration data missing error reconnect sync');
    const sinceText = since ? whenText(p, since, input.now).replace(/^\S+\s/, '') : null;
    w.say(
      `${p.integrationState(label, status || 'error', sinceText, lastError)} ${p.flowEffect(label, direction(raw))}`,
      fact.id,
    );
    if (reconnect) {
      w.usedLinks.add(reconnect.factId);
      w.say(p.reconnect(label, reconnect.url), reconnect.factId);
    }
  }
  return explained;
}
