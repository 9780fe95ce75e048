import { and, eq, gt, isNull, lt } from 'drizzle-orm';
import * as oauth from 'oauth4webapi';
import type { Db } from '../db/client.ts';
import { oauthStates } from '../db/schema/index.ts';
import { sha256Hex } from '../lib/crypto.ts';
import { randomToken } from '../lib/ids.ts';

/**
 * OAuth `state` for the install flows, on the `oauth_states` table. Pre-tenant (the tenant may not
 * exist yet), so it uses the plain owner handle, never withTenant.
 *
 * - The state is 32 random bytes; only its SHA-256 hash is stored, so a database read does not
 *   yield a usable state.
 * - Single use: `consumeOAuthState` is one atomic UPDATE ... WHERE consumed_at IS NULL AND
 *   expires_at > now RETURNING, so two callbacks racing with one state cannot both win.
 * - Lifetime 10 minutes. The row also carries the PKCE code_verifier, the provider, the Zendesk
 *   subdomain and, when a signed-in admin started the flow, the tenant to join.
 */
export const STATE_TTL_MS = 10 * 60 * 1000;

export type OAuthStateProvider = 'slack' | 'zendesk' | 'slack_oidc' | 'zendesk_signin';

export interface NewOAuthState {
  provider: OAuthStateProvider;
  subdomain?: string | null;
  joinTenantId?: string | null;
  joinUserId?: string | null;
}

export interface CreatedOAuthState {
  /** Goes into the authorize URL; never stored. */
  state: string;
  codeVerifier: string;
  /** S256 challenge of the verifier. */
  codeChallenge: string;
  expiresAt: Date;
}

export interface ConsumedOAuthState {
  provider: OAuthStateProvider;
  codeVerifier: string;
  subdomain: string | null;
  joinTenantId: string | null;
  joinUserId: string | null;
}

const hashState = (state: string) => sha256Hex(`oauth-state:${state}`);

export async function createOAuthState(
  db: Db,
  input: NewOAuthState,
  now: Date = new Date(),
): Promise<CreatedOAuthState> {
  const state = randomToken(32);
  const codeVerifier = oauth.generateRandomCodeVerifier();
  const codeChallenge = await oauth.calculatePKCECodeChallenge(codeVerifier);
  const expiresAt = new Date(now.getTime() + STATE_TTL_MS);
  // Old rows are useless after expiry; clear those older than a day while we are here.
  await db.delete(oauthStates).where(lt(oauthStates.expiresAt, new Date(now.getTime() - 86_400_000)));
  await db.insert(oauthStates).values({
    stateHash: await hashState(state),
    provider: input.provider,
    codeVerifier,
    subdomain: input.subdomain ?? null,
    joinTenantId: input.joinTenantId ?? null,
    joinUserId: input.joinUserId ?? null,
    expiresAt,
  });
  return { state, codeVerifier, codeChallenge, expiresAt };
}

/**
 * Marks the state used and returns what it carried, or null when it is unknown, of another
 * provider, expired or already used. Callers treat null as `invalid_state` and store nothing.
 */
export async function consumeOAuthState(
  db: Db,
  state: string | undefined | null,
  provider: OAuthStateProvider,
  now: Date = new Date(),
): Promise<ConsumedOAuthState | null> {
  if (!state || state.length > 200) return null;
  const rows = await db
    .update(oauthStates)
    .set({ consumedAt: now })
    .where(
      and(
        eq(oauthStates.stateHash, await hashState(state)),
        eq(oauthStates.provider, provider),
        isNull(oauthStates.consumedAt),
        gt(oauthStates.expiresAt, now),
      ),
    )
    .returning({
      provider: oauthStates.provider,
      codeVerifier: oauthStates.codeVerifier,
      subdomain: oauthStates.subdomain,
      joinTenantId: oauthStates.joinTenantId,
      joinUserId: oauthStates.joinUserId,
    });
  return rows[0] ?? null;
}
