import { describeError } from '../../lib/errors.ts';
import type { RouteDecision } from '../routing.ts';
import type { AccountContext, ContextFact, MissingSource, PipelineTicket, ProviderReport } from '../types.ts';
import { VISIBLE_AT } from '../types.ts';

/** What every provider receives. Providers decide from `route.level` what they may load. */
export interface ProviderInput {
  tenantId: string;
  ticket: PipelineTicket;
  route: RouteDecision;
  now: Date;
}

/**
 * One source of context. `load` must stop work when `signal` aborts (the loader stops waiting
 * for it then anyway). Throwing marks the source missing; it never fails the ticket.
 */
export interface ContextProvider {
  readonly source: string;
  load(input: ProviderInput, signal: AbortSignal): Promise<ContextFact[]>;
}

export interface LoadContextOptions {
  providers: ContextProvider[];
  input: ProviderInput;
  /** One deadline for all providers together (default 800 ms). */
  deadlineMs?: number;
  /** Per-provider timeout (default: the deadline). */
  providerTimeoutMs?: number;
}

class LateError extends Error {
  readonly reason: 'deadline' | 'timeout';
  constructor(reason: 'deadline' | 'timeout') {
    super(reason === 'deadline' ? 'did not answer before the context deadline' : 'provider timed out');
    this.reason = reason;
  }
}

/** Rejects with LateError when `signal` aborts first; otherwise settles like `p`. */
function raceSignal<T>(p: Promise<T>, signal: AbortSignal, reason: () => LateError): Promise<T> {
  if (signal.aborted) return Promise.reject(reason());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(reason());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/**
 * Runs every provider in parallel under one deadline and returns by the deadline with what
 * arrived. A provider that fails, times out or is late appears in `missing` with a reason.
 * Facts are filtered to the route's level here as well (a provider's mistake cannot widen it),
 * and account facts are dropped when there is no account.
 */
export async function loadContext(opts: LoadContextOptions): Promise<AccountContext> {
  const started = performance.now();
  const { input } = opts;
  const deadlineMs = opts.deadlineMs ?? 800;
  const perProvider = Math.min(opts.providerTimeoutMs ?? deadlineMs, deadlineMs);
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), deadlineMs);

  const outcomes = opts.providers.map(async (p) => {
    const own = new AbortController();
    const ownTimer = setTimeout(() => own.abort(), perProvider);
    const signal = AbortSignal.any([deadline.signal, own.signal]);
    const t0 = performance.now();
    const ms = () => Math.round((performance.now() - t0) * 10) / 10;
    try {
      const work = Promise.resolve().then(() => p.load(input, signal));
      const facts = await raceSignal(work, signal, () =>
        deadline.signal.aborted ? new LateError('deadline') : new LateError('timeout'),
      );
      return { source: p.source, facts, missing: null, elapsedMs: ms() };
    } catch (e) {
      const reason =
        e instanceof LateError
          ? e.reason
          : signal.aborted
            ? deadline.signal.aborted
              ? 'deadline'
              : 'timeout'
            : describeError(e);
      return { source: p.source, facts: [] as ContextFact[], missing: reason, elapsedMs: ms() };
    } finally {
      clearTimeout(ownTimer);
    }
  });

  const settled = await Promise.all(outcomes);
  clearTimeout(timer);
  // Late providers that ignore their signal keep running; tell them once more to stop.
  deadline.abort();

  const allowed = VISIBLE_AT[input.route.level];
  const facts: ContextFact[] = [];
  const missing: MissingSource[] = [];
  const providers: ProviderReport[] = [];
  const seen = new Set<string>();
  for (const s of settled) {
    providers.push({ source: s.source, elapsedMs: s.elapsedMs, facts: 0, missing: s.missing });
    if (s.missing !== null) {
      missing.push({ source: s.source, reason: s.missing });
      continue;
    }
    for (const f of s.facts) {
      if (!allowed.includes(f.visibility)) continue;
      if (f.visibility !== 'public' && !input.route.accountId) continue;
      if (seen.has(f.id)) continue;
      seen.add(f.id);
      facts.push(f);
      providers.at(-1)!.facts++;
    }
  }
  return {
    level: input.route.level,
    accountId: input.route.accountId,
    endUserEmail: input.route.endUserEmail,
    facts,
    missing,
    elapsedMs: Math.round((performance.now() - started) * 10) / 10,
    providers,
  };
}
