import { eq } from 'drizzle-orm';
import type { Db, Tx } from '../../db/client.ts';
import { tenantSecrets } from '../../db/schema/index.ts';
import { withTenant } from '../../db/tenant.ts';
import type { Vault } from '../../tenancy/vault.ts';
import { assertContextApiUrlAllowed, RefusedUrlError, type Resolver } from '../context/net-guard.ts';
import type { DraftingSettings } from '../settings.ts';
import { createFallbackDrafter } from './fallback.ts';
import { createOpenAiDrafter } from './openai.ts';
import type { Drafter } from './types.ts';

/**
 * A tenant's own model account: its API key (sealed in tenant_secrets under MODEL_KEY_PURPOSE,
 * never returned, logged or audited) and, optionally, its own OpenAI-compatible base URL
 * (`drafting.baseUrl`). A tenant with a key drafts through its own account; the others use the
 * server's drafter (OPENAI_API_KEY / OPENAI_BASE_URL, or the offline drafter).
 */
export const MODEL_KEY_PURPOSE = 'model_api_key';

/** The tenant's sealed model key, or null (inside its transaction). */
export async function sealedModelKey(tx: Tx): Promise<string | null> {
  const [row] = await tx
    .select({ sealed: tenantSecrets.sealed })
    .from(tenantSecrets)
    .where(eq(tenantSecrets.purpose, MODEL_KEY_PURPOSE))
    .limit(1);
  return row?.sealed ?? null;
}

/** Whether the tenant has its own model API key (inside its transaction). */
export async function hasTenantModelKey(tx: Tx): Promise<boolean> {
  const rows = await tx
    .select({ purpose: tenantSecrets.purpose })
    .from(tenantSecrets)
    .where(eq(tenantSecrets.purpose, MODEL_KEY_PURPOSE))
    .limit(1);
  return rows.length > 0;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/**
 * Checks a tenant's model base URL: https, no credentials, and not a private, loopback or
 * internal-only address (the Context API's save-time rules, net-guard.ts). With `allowPrivate`
 * (CONTEXT_API_ALLOW_PRIVATE, development only), http is allowed to a loopback host as well.
 * Throws RefusedUrlError with a sentence for the admin.
 */
export async function assertModelBaseUrlAllowed(
  raw: string,
  policy: { allowPrivate: boolean; resolver?: Resolver | undefined },
): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new RefusedUrlError('not a URL');
  }
  if (url.username || url.password) throw new RefusedUrlError('credentials in the URL are not allowed');
  if (url.protocol === 'http:') {
    if (policy.allowPrivate && LOOPBACK.has(url.hostname)) return url;
    throw new RefusedUrlError(
      policy.allowPrivate
        ? 'only https URLs are allowed (http only to a loopback host)'
        : 'only https URLs are allowed',
    );
  }
  return assertContextApiUrlAllowed(raw, policy);
}

export interface TenantDrafterDeps {
  database: { db: Db };
  vault: Vault;
  /** The server's drafter, for tenants without their own key. */
  drafter: Drafter;
}

/**
 * The drafter for one tenant's draft: the tenant's own OpenAI-compatible account when it has
 * stored a key (at `drafting.baseUrl` when set, else OpenAI's), with the same offline fallback
 * as the server's drafter; otherwise the server's drafter. Built per draft: the key is opened
 * from the vault only for the call that needs it.
 */
export async function drafterForTenant(
  deps: TenantDrafterDeps,
  tenantId: string,
  drafting: DraftingSettings,
  /** The sealed key when the caller already read it in its own transaction (sealedModelKey); null: none. */
  known?: string | null,
): Promise<Drafter> {
  const sealed =
    known !== undefined ? known : await withTenant(deps.database.db, tenantId, (tx) => sealedModelKey(tx));
  if (!sealed) return deps.drafter;
  const apiKey = await deps.vault.open(tenantId, MODEL_KEY_PURPOSE, sealed);
  return createFallbackDrafter(createOpenAiDrafter({ apiKey, baseURL: drafting.baseUrl }));
}
