import { formatWhen, humanize, titleCase, wordSet } from '../text.ts';
import {
  accountFacts,
  currentPlan,
  type FindingInput,
  GENERIC,
  isRec,
  type Link,
  linkFor,
  str,
  type Writer,
} from './shared.ts';

/** Purposes (and link names) that lead to a plan change, and to a trial. */
const UPGRADE = ['upgrade', 'plan', 'plans', 'pricing', 'change plan', 'subscription'];
const TRIAL = ['trial', 'try'];

/** Statuses that mean "connected / set up" (read from the data, never assumed). */
export const CONNECTED = /^(connected|active|ok|enabled|healthy|live|on|running|set up)$/i;

/**
 * A feature the ticket names that the account's plan lacks: which plans include it, whether its
 * integration is already connected (so nothing is broken), and the upgrade path by declared
 * purpose: the upgrade link, and a trial link (the one naming the target plan first).
 * Returns the keys of the features it explained (the integration check skips them).
 */
export function planGatedFeatures(w: Writer, f: FindingInput): Set<string> {
  const { input, catalog, ticketWords, p } = f;
  const facts = input.context.facts;
  const plan = currentPlan(facts, catalog);
  const integrationsFact = accountFacts(facts).ctx('integrations');
  const integrations = integrationsFact && isRec(integrationsFact.value) ? integrationsFact.value : {};
  const handled = new Set<string>();
  if (!plan) return handled;
  for (const feature of catalog.features) {
    const own = wordSet(`${humanize(feature.key)} ${feature.name}`);
    const others = new Set(
      catalog.features
        .filter((x) => x !== feature)
        .flatMap((x) => [...wordSet(`${humanize(x.key)} ${x.name}`)]),
    );
    const distinctive = [...own].filter((x) => !GENERIC.has(x) && !others.has(x));
    if (!distinctive.some((x) => ticketWords.has(x))) continue;
    const planKeys = feature.plans.map((k) => k.toLowerCase());
    const including = catalog.plans
      .filter((x) => planKeys.includes(x.key.toLowerCase()))
      .sort((a, b) => (a.price ?? Number.MAX_SAFE_INTEGER) - (b.price ?? Number.MAX_SAFE_INTEGER));
    if (planKeys.includes(plan.key.toLowerCase())) {
      w.say(p.featureIncluded(feature.name, plan.name), feature.factId, ...plan.factIds);
      continue;
    }
    handled.add(feature.key.toLowerCase());
    w.signals.push('feature plan include upgrade');
    w.findings++;
    const names = including.map((x) => x.name);
    let text = p.featureNotIncluded(feature.name, plan.name, names.length ? names : feature.plans);
    const integ = Object.entries(integrations).find(([k]) => k.toLowerCase() === feature.key.toLowerCase());
    const value = integ && isRec(integ[1]) ? integ[1] : null;
    if (value && CONNECTED.test(String(value.status ?? '').trim())) {
      const since = str(value.since);
      text += ` ${p.connectionSetUp(titleCase(integ![0]), since ? formatWhen(since) : null)}`;
    }
    w.say(text, feature.factId, integrationsFact?.id, ...plan.factIds, ...including.map((x) => x.factId));
    const target = including[0];
    const { upgrade, trial } = upgradePath(catalog.links, target?.key ?? null, feature.key);
    const parts: string[] = [];
    if (upgrade) parts.push(p.upgradeTo(target?.name ?? null, upgrade.url));
    if (trial) parts.push(p.trialOf(target?.name ?? null, trial.url));
    if (parts.length) {
      w.say(`${p.upgradeIntro}\n${parts.join('\n')}`, upgrade?.factId, trial?.factId);
      for (const l of [upgrade, trial]) if (l) w.usedLinks.add(l.factId);
    }
  }
  return handled;
}

/**
 * Upgrade and trial links: by declared purpose, else by name, else a link whose URL names the
 * target plan or the feature (a URL that also says "trial" counts as the trial).
 */
export function upgradePath(
  links: Link[],
  planKey: string | null,
  featureKey: string,
): { upgrade: Link | null; trial: Link | null } {
  let trial = linkFor(links, TRIAL, { needle: planKey });
  let upgrade = linkFor(links, UPGRADE, { needle: planKey, exclude: new Set(trial ? [trial.factId] : []) });
  if (!trial || !upgrade) {
    const used = new Set([trial?.factId, upgrade?.factId].filter((x): x is string => !!x));
    const naming = (needle: string | null) => {
      if (!needle) return [];
      const n = needle.toLowerCase();
      const variants = [n, n.replace(/[\s_]+/g, '-'), n.replace(/[\s_-]+/g, '')];
      return links.filter(
        (l) => !used.has(l.factId) && variants.some((v) => l.url.toLowerCase().includes(v)),
      );
    };
    const named = [...naming(planKey), ...naming(featureKey)];
    const isTrial = (l: Link) => /trial/i.test(`${l.key} ${l.url}`);
    trial ??= named.find(isTrial) ?? null;
    upgrade ??= named.find((l) => !isTrial(l)) ?? null;
  }
  return { upgrade, trial };
}
