import { describe, expect, it } from 'vitest';
import { isAppError } from '../../src/lib/errors.ts';
import { createSlackLimiter } from '../../src/slack/web.ts';

/** The per-process Slack pacing with a fake clock: what waits, for how long, and for whom. */
function fakeClock() {
  let t = 1_000_000;
  const slept: number[] = [];
  return {
    now: () => t,
    sleep: async (ms: number) => {
      slept.push(ms);
      t += ms;
    },
    slept,
    advance: (ms: number) => {
      t += ms;
    },
  };
}

describe('Slack limiter', () => {
  it('spaces posts in one channel of one tenant about a second apart, and only those', async () => {
    const clock = fakeClock();
    const limiter = createSlackLimiter({ now: clock.now, sleep: clock.sleep });
    // Three posts at once in one channel: the second waits 1 s, the third 1 s more.
    await Promise.all([1, 2, 3].map(() => limiter.acquire('tn_a', 'chat.postMessage', 'C1')));
    expect(clock.slept).toEqual([1000, 1000]);
    clock.slept.length = 0;
    // Another channel, another tenant's same channel id, and methods Slack does not pace per
    // channel go out at once.
    await limiter.acquire('tn_a', 'chat.postMessage', 'C2');
    await limiter.acquire('tn_b', 'chat.postMessage', 'C1');
    await limiter.acquire('tn_a', 'chat.update', 'C1');
    await limiter.acquire('tn_a', 'users.info', undefined);
    expect(clock.slept).toEqual([]);
    // Ephemeral messages and stream starts share the channel's pace with posts.
    await limiter.acquire('tn_a', 'chat.postEphemeral', 'C2');
    await limiter.acquire('tn_a', 'chat.startStream', 'C2');
    expect(clock.slept).toEqual([1000, 1000]);
  });

  it("a 429 pauses that tenant's calls until its Retry-After, with a retry hint, and no other tenant's", async () => {
    const clock = fakeClock();
    const limiter = createSlackLimiter({ now: clock.now, sleep: clock.sleep });
    limiter.pause('tn_a', clock.now() + 30_000);
    const refused = await limiter.acquire('tn_a', 'chat.update', 'C1').catch((e: unknown) => e);
    expect(isAppError(refused) && refused.code).toBe('rate_limited');
    expect(isAppError(refused) && refused.retryable).toBe(true);
    expect(isAppError(refused) && refused.detail?.retryAfterMs).toBe(30_000);
    await expect(limiter.acquire('tn_b', 'chat.update', 'C1')).resolves.toBeUndefined();
    // A shorter pause never shortens a longer one.
    limiter.pause('tn_a', clock.now() + 5_000);
    expect(limiter.pausedUntil('tn_a')).toBe(clock.now() + 30_000);
    clock.advance(30_001);
    await expect(limiter.acquire('tn_a', 'chat.update', 'C1')).resolves.toBeUndefined();
  });
});
