import { eq, notInArray } from 'drizzle-orm';
import { z } from 'zod';
import { audit } from '../audit/audit.ts';
import { lockTenantDocument } from '../db/document-lock.ts';
import {
  accounts,
  catalogEntries,
  endUsers,
  kbArticles,
  playbooks,
  tenantSecrets,
} from '../db/schema/index.ts';
import { AppError } from '../lib/errors.ts';
import { isFreeMailDomain, normaliseDomain } from '../lib/free-mail.ts';
import type { ServiceCtx } from '../tenancy/context.ts';
import type { Vault } from '../tenancy/vault.ts';
import { ALLOWED_LINK_PLACEHOLDERS, disallowedLinkPlaceholder } from './context/link-template.ts';
import { assertContextApiUrlAllowed, RefusedUrlError, type Resolver } from './context/net-guard.ts';
import { assertModelBaseUrlAllowed, hasTenantModelKey, MODEL_KEY_PURPOSE } from './drafting/tenant-model.ts';
import {
  contextApiSettingsSchema,
  pipelineSettingsSchema,
  readPipelineSettings,
  updatePipelineSettings,
} from './settings.ts';

/**
 * What a tenant admin configures: routing and drafting settings, the product catalog (plans,
 * features, links, knowledge base, changelog, playbooks), the account directory used for routing
 * and by the leak guard, and the tenant Context API. The admin API (http/admin-config.ts) and
 * the scenario runner both go through these verbs; each runs in the caller's withTenant
 * transaction and writes one audit event (never a secret).
 */

const key = z.string().trim().min(1).max(200);

export const catalogSchema = z
  .object({
    plans: z
      .array(
        z.object({ key, name: z.string().min(1).max(200), monthlyPrice: z.number().nonnegative().nullish() }),
      )
      .max(200)
      .default([]),
    features: z
      .array(z.object({ key, name: z.string().min(1).max(200), plans: z.array(key).max(200).default([]) }))
      .max(1000)
      .default([]),
    /** Named URLs; `{account.id}`, `{account.name}`, `{account.plan}` are filled (URL-encoded) per ticket. */
    links: z
      .record(
        key,
        z.union([
          z.string().url().max(2000),
          z
            .object({ url: z.string().url().max(2000), purpose: z.string().min(1).max(100).optional() })
            .strict(),
        ]),
      )
      .default({}),
    kb: z
      .array(z.object({ id: key, title: z.string().min(1).max(500), body: z.string().max(100_000) }))
      .max(5000)
      .default([]),
    changelog: z
      .array(
        z.object({
          date: z.string().min(1).max(40),
          title: z.string().min(1).max(500),
          body: z.string().max(20_000).default(''),
        }),
      )
      .max(5000)
      .default([]),
    playbooks: z
      .array(
        z.object({
          key,
          when: z.string().min(1).max(2000),
          steps: z.array(z.string().min(1).max(2000)).max(50).default([]),
          /** Internal guidance by default: only `end_user` / `public` playbooks reach end-user prompts. */
          visibility: z.enum(['account', 'end_user', 'public']).default('account'),
          /** Invariant 7: a draft of this playbook may send itself (above the sidebar's threshold). Off by default. */
          autoSend: z.boolean().default(false),
        }),
      )
      .max(500)
      .default([]),
  })
  .strict();
export type CatalogInput = z.input<typeof catalogSchema>;

const email = z.string().trim().toLowerCase().email().max(320);

export const directorySchema = z
  .object({
    /** `upsert` keeps accounts not listed; `replace` deletes them (and their end users). */
    mode: z.enum(['upsert', 'replace']).default('upsert'),
    accounts: z
      .array(
        z.object({
          id: key,
          name: z.string().trim().min(1).max(300),
          plan: key.nullish(),
          domains: z
            .array(
              z
                .string()
                .trim()
                .toLowerCase()
                .regex(/^[a-z0-9.-]+\.[a-z]{2,}$/, 'must be a domain like example.com')
                .max(253),
            )
            .max(100)
            .default([]),
          users: z
            .array(
              z.object({ email, name: z.string().max(300).nullish(), role: z.string().max(100).nullish() }),
            )
            .max(10_000)
            .default([]),
          /** Account-private notes: never shown to end users, never sent to a model. */
          internalNotes: z.string().max(20_000).nullish(),
          /** The account's own customers (B2B2C end users) and their records; replaced per listed account. */
          endUsers: z
            .array(
              z.object({
                email,
                name: z.string().max(300).nullish(),
                records: z.record(z.string(), z.unknown()).default({}),
              }),
            )
            .max(50_000)
            .optional(),
        }),
      )
      .max(10_000),
  })
  .strict()
  .superRefine((d, ctx) => {
    const seen = new Set<string>();
    for (const [i, a] of d.accounts.entries()) {
      if (seen.has(a.id))
        ctx.addIssue({
          code: 'custom',
          path: ['accounts', i, 'id'],
          message: `duplicate account id ${a.id}`,
        });
      seen.add(a.id);
    }
  });
export type DirectoryInput = z.input<typeof directorySchema>;

export const contextApiInputSchema = contextApiSettingsSchema
  .extend({
    /** Shared signing secret; omit to keep the stored one. Stored sealed, never returned. */
    secret: z.string().min(16, 'must be at least 16 characters').max(500).optional(),
  })
  .strict();

/**
 * Replaces the whole catalog in one transaction. A link naming a placeholder other than
 * `{account.id}`, `{account.name}` or `{account.plan}` is refused before anything is written
 * (`400 placeholder_not_allowed`, naming the link and the placeholder).
 */
export async function replaceCatalog(ctx: ServiceCtx, input: CatalogInput) {
  const c = catalogSchema.parse(input);
  for (const [k, l] of Object.entries(c.links)) {
    const bad = disallowedLinkPlaceholder(typeof l === 'string' ? l : l.url);
    if (bad === null) continue;
    throw new AppError(
      'placeholder_not_allowed',
      `links.${k}: the placeholder ${bad} is not allowed in links (allowed: ${ALLOWED_LINK_PLACEHOLDERS.map((p) => `{${p}}`).join(', ')}).`,
      { detail: { link: k, placeholder: bad } },
    );
  }
  const { tx, tenantId } = ctx;
  await lockTenantDocument(tx, tenantId, 'catalog');
  await tx.delete(catalogEntries);
  await tx.delete(kbArticles);
  await tx.delete(playbooks);
  const entries = [
    ...c.plans.map((p) => ({
      kind: 'plan' as const,
      key: p.key,
      data: { name: p.name, monthlyPrice: p.monthlyPrice ?? null },
    })),
    ...c.features.map((f) => ({
      kind: 'feature' as const,
      key: f.key,
      data: { name: f.name, plans: f.plans },
    })),
    ...Object.entries(c.links).map(([k, l]) => ({
      kind: 'link' as const,
      key: k,
      data: typeof l === 'string' ? { url: l } : { url: l.url, ...(l.purpose ? { purpose: l.purpose } : {}) },
    })),
    ...c.changelog.map((e, i) => ({ kind: 'changelog' as const, key: `${e.date}-${i + 1}`, data: { ...e } })),
  ];
  if (entries.length) await tx.insert(catalogEntries).values(entries.map((e) => ({ tenantId, ...e })));
  if (c.kb.length) await tx.insert(kbArticles).values(c.kb.map((a) => ({ tenantId, ...a })));
  if (c.playbooks.length) {
    await tx.insert(playbooks).values(
      c.playbooks.map((p) => ({
        tenantId,
        key: p.key,
        whenText: p.when,
        steps: p.steps,
        visibility: p.visibility,
        autoSend: p.autoSend,
      })),
    );
  }
  const counts = {
    plans: c.plans.length,
    features: c.features.length,
    links: Object.keys(c.links).length,
    kb: c.kb.length,
    changelog: c.changelog.length,
    playbooks: c.playbooks.length,
  };
  await audit(ctx, { action: 'catalog.replaced', target: tenantId, outcome: 'success', detail: counts });
  return counts;
}

/**
 * Refuses an account that claims a free-mail domain (gmail.com, outlook.com, ...: src/lib/free-mail.ts):
 * every stranger with a mailbox there would route into that account. `400 free_mail_domain`
 * naming the account and the domain; such people can be listed by exact email in `users`.
 */
function assertNoFreeMailDomains(accounts: { id: string; domains: string[] }[]): void {
  for (const [i, a] of accounts.entries()) {
    const bad = a.domains.find((d) => isFreeMailDomain(normaliseDomain(d)));
    if (bad === undefined) continue;
    throw new AppError(
      'free_mail_domain',
      `accounts.${i}.domains: account ${a.id} lists ${normaliseDomain(bad)}, a shared mailbox provider's domain; list its people by email in users instead.`,
      { detail: { accountId: a.id, domain: normaliseDomain(bad) } },
    );
  }
}

/**
 * Upserts (or replaces) the account directory and the listed accounts' end users. Refuses the
 * whole sync, before anything is written, when an account lists a free-mail domain.
 */
export async function syncDirectory(ctx: ServiceCtx, input: DirectoryInput) {
  const d = directorySchema.parse(input);
  assertNoFreeMailDomains(d.accounts);
  const { tx, tenantId } = ctx;
  await lockTenantDocument(tx, tenantId, 'directory');
  let endUsersWritten = 0;
  for (const a of d.accounts) {
    const row = {
      name: a.name,
      plan: a.plan ?? null,
      domains: [...new Set(a.domains)],
      emails: [...new Set(a.users.map((u) => u.email))],
      data: {
        users: a.users.map((u) => ({ email: u.email, name: u.name ?? null, role: u.role ?? null })),
        ...(a.internalNotes ? { internalNotes: a.internalNotes } : {}),
      },
      updatedAt: new Date(),
    };
    await tx
      .insert(accounts)
      .values({ tenantId, id: a.id, ...row })
      .onConflictDoUpdate({ target: [accounts.tenantId, accounts.id], set: row });
    if (a.endUsers) {
      await tx.delete(endUsers).where(eq(endUsers.accountId, a.id));
      const unique = new Map(a.endUsers.map((e) => [e.email, e]));
      let i = 0;
      for (const e of unique.values()) {
        i++;
        await tx.insert(endUsers).values({
          tenantId,
          id: `eu_${a.id}_${i}`,
          accountId: a.id,
          email: e.email,
          name: e.name ?? null,
          records: e.records,
        });
      }
      endUsersWritten += unique.size;
    }
  }
  let removed = 0;
  if (d.mode === 'replace') {
    const ids = d.accounts.map((a) => a.id);
    const gone = await tx
      .delete(accounts)
      .where(ids.length ? notInArray(accounts.id, ids) : undefined)
      .returning({ id: accounts.id });
    removed = gone.length;
  }
  const detail = { mode: d.mode, accounts: d.accounts.length, endUsers: endUsersWritten, removed };
  await audit(ctx, { action: 'directory.synced', target: tenantId, outcome: 'success', detail });
  return detail;
}

/** `drafting.apiKey` in a settings patch: a new key (sealed, never stored in the settings document) or null to clear it. */
const modelKeyPatchSchema = z.object({
  apiKey: z
    .string()
    .trim()
    .min(8, 'must be at least 8 characters')
    .max(500)
    .regex(/^[\x21-\x7e]+$/, 'must be one word of printable characters')
    .nullable()
    .optional(),
});

export interface UpdateSettingsOptions {
  /** Needed to seal `drafting.apiKey`. */
  vault?: Vault;
  /** How `drafting.baseUrl` is checked (CONTEXT_API_ALLOW_PRIVATE and the save-time resolver). */
  urlPolicy?: ContextApiUrlPolicy;
}

/**
 * Validates and merges a settings patch (routing, context, drafting); Context API goes through setContextApi.
 * `drafting.apiKey` (a string to set, null to clear) is the tenant's own model key: sealed in
 * tenant_secrets (`model_api_key`), never in the settings document, never returned or audited.
 * `drafting.baseUrl` is refused (`400 url_not_allowed`) unless https to a public host (http to
 * loopback with allowPrivate), and (`400 invalid_body`) without the tenant's own key: the
 * server's key is never sent to a tenant's address. Nothing is written when anything is refused.
 */
export async function updateSettings(
  ctx: ServiceCtx,
  input: Record<string, unknown>,
  opts: UpdateSettingsOptions = {},
) {
  const allowed = ['routing', 'context', 'drafting', 'limits'] as const;
  const unknownKeys = Object.keys(input).filter((k) => !(allowed as readonly string[]).includes(k));
  if (unknownKeys.length) {
    throw new z.ZodError([
      {
        code: 'custom',
        path: [unknownKeys[0]!],
        message: `unknown setting (allowed: ${allowed.join(', ')}; contextApi has its own endpoint)`,
        input,
      },
    ]);
  }
  let patch = input;
  let apiKey: string | null | undefined;
  if (input.drafting && typeof input.drafting === 'object' && 'apiKey' in input.drafting) {
    const { apiKey: raw, ...rest } = input.drafting as Record<string, unknown>;
    const parsed = modelKeyPatchSchema.safeParse({ apiKey: raw });
    if (!parsed.success)
      throw new z.ZodError(parsed.error.issues.map((i) => ({ ...i, path: ['drafting', ...i.path] })));
    apiKey = parsed.data.apiKey;
    patch = { ...input, drafting: rest };
  }
  const current = await readPipelineSettings(ctx.tx);
  const merged = pipelineSettingsSchema.parse({ ...current, ...patch });
  const baseUrl = merged.drafting.baseUrl;
  if (baseUrl && 'drafting' in patch) {
    try {
      await assertModelBaseUrlAllowed(baseUrl, opts.urlPolicy ?? { allowPrivate: false });
    } catch (e) {
      if (e instanceof RefusedUrlError)
        throw new AppError('url_not_allowed', `drafting.baseUrl: ${e.message}`, {
          detail: { field: 'drafting.baseUrl' },
        });
      throw e;
    }
  }
  const keySet = apiKey === undefined ? await hasTenantModelKey(ctx.tx) : apiKey !== null;
  if (baseUrl && !keySet)
    throw new z.ZodError([
      {
        code: 'custom',
        path: ['drafting', 'baseUrl'],
        message:
          "needs the tenant's own API key (the server's key is never sent to another address): set one, or leave the base URL empty",
        input,
      },
    ]);
  const { tx, tenantId } = ctx;
  if (typeof apiKey === 'string') {
    if (!opts.vault) throw new AppError('internal', 'updateSettings needs the vault to seal drafting.apiKey');
    const sealed = await opts.vault.seal(tenantId, MODEL_KEY_PURPOSE, apiKey);
    await tx
      .insert(tenantSecrets)
      .values({ tenantId, purpose: MODEL_KEY_PURPOSE, sealed })
      .onConflictDoUpdate({
        target: [tenantSecrets.tenantId, tenantSecrets.purpose],
        set: { sealed, updatedAt: new Date() },
      });
  } else if (apiKey === null) {
    await tx.delete(tenantSecrets).where(eq(tenantSecrets.purpose, MODEL_KEY_PURPOSE));
  }
  await updatePipelineSettings(tx, tenantId, Object.fromEntries(allowed.map((k) => [k, merged[k]])));
  await audit(ctx, {
    action: 'settings.updated',
    target: tenantId,
    outcome: 'success',
    detail: {
      keys: Object.keys(input),
      ...(apiKey === undefined ? {} : { ownModel: apiKey === null ? 'cleared' : 'set' }),
    },
  });
  return readPipelineSettings(tx);
}

/** How a Context API URL is checked when it is saved (see assertContextApiUrlAllowed). */
export interface ContextApiUrlPolicy {
  /** CONTEXT_API_ALLOW_PRIVATE (development only): loopback and private addresses pass, as at fetch time. */
  allowPrivate: boolean;
  /** Resolves the host at save time too (the entries pass the fetch path's resolver); tests pass none. */
  resolver?: Resolver | undefined;
}

/**
 * Sets the tenant Context API (URL, keys, limits) and, when given, its signing secret (sealed).
 * The URL is checked before anything is stored: `400 url_not_allowed` for http, credentials, an
 * IP literal outside global unicast, localhost and internal-only names, or (with a resolver) a
 * name resolving to such an address. The fetch-time check stays (DNS answers change).
 */
export async function setContextApi(
  ctx: ServiceCtx,
  vault: Vault,
  input: z.input<typeof contextApiInputSchema>,
  policy: ContextApiUrlPolicy = { allowPrivate: false },
) {
  const { secret, ...settings } = contextApiInputSchema.parse(input);
  let url: URL;
  try {
    url = await assertContextApiUrlAllowed(settings.url, policy);
  } catch (e) {
    if (e instanceof RefusedUrlError)
      throw new AppError('url_not_allowed', `url: ${e.message}`, { detail: { field: 'url' } });
    throw e;
  }
  const { tx, tenantId } = ctx;
  if (secret) {
    const sealed = await vault.seal(tenantId, 'context_api_secret', secret);
    await tx
      .insert(tenantSecrets)
      .values({ tenantId, purpose: 'context_api_secret', sealed })
      .onConflictDoUpdate({
        target: [tenantSecrets.tenantId, tenantSecrets.purpose],
        set: { sealed, updatedAt: new Date() },
      });
  } else {
    const existing = await tx
      .select({ purpose: tenantSecrets.purpose })
      .from(tenantSecrets)
      .where(eq(tenantSecrets.purpose, 'context_api_secret'));
    if (!existing.length) {
      throw new z.ZodError([
        { code: 'custom', path: ['secret'], message: 'is required the first time', input },
      ]);
    }
  }
  await updatePipelineSettings(tx, tenantId, { contextApi: settings });
  await audit(ctx, {
    action: 'context_api.configured',
    target: url.host,
    outcome: 'success',
    detail: { host: url.host, secretRotated: Boolean(secret) },
  });
  return settings;
}
