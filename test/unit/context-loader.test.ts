import { describe, expect, it } from 'vitest';
import { type ContextProvider, loadContext, type ProviderInput } from '../../src/pipeline/context/loader.ts';
import type { ContextFact, RouteLevel, Visibility } from '../../src/pipeline/types.ts';

function input(level: RouteLevel): ProviderInput {
  return {
    tenantId: 'tn_0123456789abcdefgh',
    now: new Date(),
    ticket: {
      id: '1',
      subject: '',
      body: '',
      requester: { id: null, email: null, name: null },
      organization: null,
      brand: null,
      recipient: null,
      via: null,
      createdAt: null,
    },
    route: {
      level,
      accountId: level === 'unknown' ? null : 'acc',
      endUserEmail: null,
      endUserId: null,
      reason: 'org_field',
    },
  };
}

const fact = (id: string, visibility: Visibility = 'public'): ContextFact => ({
  id,
  source: id.split(':')[0]!,
  key: id,
  value: id,
  fetchedAt: new Date().toISOString(),
  visibility,
});

/** A provider answering after `ms`; `honour` false ignores its abort signal (keeps running). */
function slow(source: string, ms: number, facts: ContextFact[], opts: { honour?: boolean } = {}) {
  const state = { aborted: false, finished: false };
  const provider: ContextProvider = {
    source,
    load: (_input, signal) =>
      new Promise((resolve, reject) => {
        const t = setTimeout(() => {
          state.finished = true;
          resolve(facts);
        }, ms);
        signal.addEventListener('abort', () => {
          state.aborted = true;
          if (opts.honour !== false) {
            clearTimeout(t);
            reject(signal.reason);
          }
        });
      }),
  };
  return { provider, state };
}

describe('context loader', () => {
  it('runs providers in parallel and returns by the deadline, marking the late one missing', async () => {
    const a = slow('a', 30, [fact('a:1')]);
    const b = slow('b', 60, [fact('b:1')]);
    const late = slow('late', 2000, [fact('late:1')], { honour: false });
    const started = performance.now();
    const ctx = await loadContext({
      providers: [a.provider, b.provider, late.provider],
      input: input('account'),
      deadlineMs: 150,
    });
    const took = performance.now() - started;
    expect(took).toBeGreaterThanOrEqual(140);
    expect(took).toBeLessThan(400);
    expect(ctx.facts.map((f) => f.id)).toEqual(['a:1', 'b:1']);
    expect(ctx.missing).toEqual([{ source: 'late', reason: 'deadline' }]);
    expect(late.state.aborted).toBe(true); // told to stop
  });

  it('returns as soon as every provider answered (no waiting for the deadline)', async () => {
    const started = performance.now();
    const ctx = await loadContext({
      providers: [slow('a', 20, [fact('a:1')]).provider, slow('b', 40, [fact('b:1')]).provider],
      input: input('account'),
      deadlineMs: 2000,
    });
    expect(performance.now() - started).toBeLessThan(500);
    expect(ctx.missing).toEqual([]);
  });

  it('per-provider timeout and failures are marked missing, not fatal', async () => {
    const failing: ContextProvider = {
      source: 'broken',
      load: async () => {
        throw new Error('connection reset');
      },
    };
    const ctx = await loadContext({
      providers: [
        slow('slowish', 200, [fact('slowish:1')]).provider,
        failing,
        slow('ok', 5, [fact('ok:1')]).provider,
      ],
      input: input('account'),
      deadlineMs: 1000,
      providerTimeoutMs: 50,
    });
    expect(ctx.facts.map((f) => f.id)).toEqual(['ok:1']);
    expect(ctx.missing).toEqual([
      { source: 'slowish', reason: 'timeout' },
      { source: 'broken', reason: 'Error: connection reset' },
    ]);
  });

  it('filters facts to the level: end users never get account facts, unknown gets public only', async () => {
    const mixed = slow('mix', 1, [
      fact('x:account', 'account'),
      fact('x:end', 'end_user'),
      fact('x:pub', 'public'),
    ]);
    const ids = async (level: RouteLevel) =>
      (await loadContext({ providers: [mixed.provider], input: input(level) })).facts.map((f) => f.id);
    expect(await ids('account')).toEqual(['x:account', 'x:end', 'x:pub']);
    expect(await ids('end_user')).toEqual(['x:end', 'x:pub']);
    expect(await ids('unknown')).toEqual(['x:pub']);
  });
});
