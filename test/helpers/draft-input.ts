import type { DraftInput } from '../../src/pipeline/drafting/types.ts';
import type { ContextFact, RouteLevel, Visibility } from '../../src/pipeline/types.ts';

/** Builders for drafter unit tests: a ticket and a level-filtered context made of given facts. */
export const NOW = new Date('2026-11-20T10:00:00Z');

export function fact(
  id: string,
  key: string,
  value: unknown,
  opts: { source?: string; visibility?: Visibility } = {},
): ContextFact {
  const source = opts.source ?? (id.startsWith('ctx:') ? 'context_api' : id.split(':')[0]!);
  return { id, key, value, source, visibility: opts.visibility ?? 'account', fetchedAt: NOW.toISOString() };
}

export const ctx = (key: string, value: unknown) => fact(`ctx:${key}`, key, value, { source: 'context_api' });
export const link = (key: string, url: string, purpose?: string) =>
  fact(
    `catalog:link:${key}`,
    'link',
    { key, url, ...(purpose ? { purpose } : {}) },
    { visibility: 'public' },
  );
export const plan = (key: string, name: string, monthlyPrice: number) =>
  fact(`catalog:plan:${key}`, 'catalog_plan', { key, name, monthlyPrice });
export const feature = (key: string, name: string, plans: string[]) =>
  fact(`catalog:feature:${key}`, 'catalog_feature', { key, name, plans });
export const kb = (id: string, title: string, body: string, rank = 0.1) =>
  fact(`kb:${id}`, 'kb_article', { id, title, body, rank }, { source: 'kb', visibility: 'public' });
export const changelog = (key: string, date: string, title: string, body: string) =>
  fact(`catalog:changelog:${key}`, 'changelog', { date, title, body }, { visibility: 'public' });
export const playbook = (key: string, when: string, steps: string[]) =>
  fact(`playbook:${key}`, 'playbook', { key, when, steps }, { source: 'playbooks', visibility: 'public' });
export const directory = (name: string, planKey: string) =>
  fact(
    'directory:account',
    'account',
    { id: 'acc_1', name, plan: planKey, domains: [] },
    { source: 'directory' },
  );

export function draftInput(
  subject: string,
  body: string,
  facts: ContextFact[],
  opts: { level?: RouteLevel; email?: string; name?: string; brand?: string | null } = {},
): DraftInput {
  const level = opts.level ?? 'account';
  return {
    tenantId: 'tn_0123456789abcdefgh',
    now: NOW,
    model: 'offline',
    ticket: {
      id: '501',
      subject,
      body,
      requester: { id: '1', email: opts.email ?? 'sam@acme.example', name: opts.name ?? 'Sam Lee' },
      organization: null,
      brand: opts.brand ?? null,
      recipient: null,
      via: null,
      createdAt: null,
    },
    context: {
      level,
      accountId: level === 'unknown' ? null : 'acc_1',
      endUserEmail: level === 'end_user' ? (opts.email ?? 'sam@acme.example') : null,
      facts,
      missing: [],
      elapsedMs: 1,
    },
  };
}
