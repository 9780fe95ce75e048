/**
 * The ticket pipeline's shared shapes: a ticket as the pipeline sees it (already parsed from
 * Zendesk), the route it took, and the context loaded for it.
 */

/** Who a fact may be shown to. `account`: the account's own people; `end_user`: the end user it is about; `public`: anyone. */
export type Visibility = 'account' | 'end_user' | 'public';

export type RouteLevel = 'account' | 'end_user' | 'unknown';

/** One piece of context a draft may cite by `id`. `value` is JSON data, never instructions. */
export interface ContextFact {
  /** Stable within one context (e.g. `catalog:plan:pro`, `ctx:integrations`): drafts cite it. */
  id: string;
  /** Provider that produced it: `zendesk`, `catalog`, `kb`, `context_api`, ... */
  source: string;
  key: string;
  value: unknown;
  /** ISO 8601 */
  fetchedAt: string;
  visibility: Visibility;
}

export interface MissingSource {
  source: string;
  reason: string;
}

/** What was loaded for one ticket: facts already filtered to the route's level, and what did not arrive. */
export interface AccountContext {
  level: RouteLevel;
  accountId: string | null;
  endUserEmail: string | null;
  facts: ContextFact[];
  missing: MissingSource[];
  /** Milliseconds the loader took. */
  elapsedMs: number;
  /** Per provider, as the loader saw it (set by loadContext; absent in hand-built contexts). */
  providers?: ProviderReport[];
}

/** One provider's part of a context: how long it took, the facts kept from it, why it is missing. */
export interface ProviderReport {
  source: string;
  elapsedMs: number;
  /** Facts kept (after the level filter and de-duplication). */
  facts: number;
  /** `deadline`, `timeout` or the error, when nothing arrived from it; else null. */
  missing: string | null;
}

/** A Zendesk ticket reduced to what routing and drafting need. */
export interface PipelineTicket {
  id: string;
  subject: string;
  body: string;
  requester: { id: string | null; email: string | null; name: string | null };
  organization: { id: string | null; name: string | null; fields: Record<string, unknown> } | null;
  brand: string | null;
  /** The support address the ticket was sent to, when Zendesk knows it. */
  recipient: string | null;
  via: string | null;
  createdAt: string | null;
}

/** The levels a fact of each visibility may be shown at. */
export const VISIBLE_AT: Record<RouteLevel, readonly Visibility[]> = {
  account: ['account', 'end_user', 'public'],
  end_user: ['end_user', 'public'],
  unknown: ['public'],
};

export function visibleAt(level: RouteLevel, v: Visibility): boolean {
  return VISIBLE_AT[level].includes(v);
}
