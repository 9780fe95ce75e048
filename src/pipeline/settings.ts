import { eq } from 'drizzle-orm';
import { z } from 'zod';
import type { Tx } from '../db/client.ts';
import { tenantSettings } from '../db/schema/index.ts';
import { AppError } from '../lib/errors.ts';
import { limitsSchema } from './quota.ts';

/**
 * The pipeline's per-tenant settings, read at runtime from `tenant_settings.settings` and
 * validated here. A tenant with another organization field or brand map needs a settings
 * change, never a code change. Other keys in the same JSON document (owned by other features)
 * are ignored.
 */
export const routingSettingsSchema = z.object({
  /** Zendesk organization field (key in `organization_fields`) holding the account id. */
  orgField: z.string().min(1).max(200).default('account_id'),
  /** Brand name -> account id: tickets on that brand from non-members are end-user tickets. */
  brands: z.record(z.string(), z.string().min(1)).default({}),
  /** Support address (recipient) -> account id, same meaning as `brands`. */
  recipients: z.record(z.string(), z.string().min(1)).optional(),
});
export type RoutingSettings = z.infer<typeof routingSettingsSchema>;

export const DEFAULT_CONTEXT_API_KEYS = {
  account: [
    'plan',
    'integrations',
    'users',
    'auditLog',
    'apiRequests',
    'recentTickets',
    'internalNotes',
    'endUsers',
  ],
  end_user: ['records'],
};

export const contextApiSettingsSchema = z.object({
  /** https URL of the tenant's endpoint. Private and loopback addresses are refused (see context-api.ts). */
  url: z.string().url().max(2000),
  /** Keys requested per level. */
  keys: z
    .object({
      account: z.array(z.string().min(1).max(100)).max(100).default(DEFAULT_CONTEXT_API_KEYS.account),
      end_user: z.array(z.string().min(1).max(100)).max(100).default(DEFAULT_CONTEXT_API_KEYS.end_user),
    })
    .default(DEFAULT_CONTEXT_API_KEYS),
  /** Time allowed for one attempt (a timed-out attempt is retried once, within the loader's deadline). */
  attemptTimeoutMs: z.number().int().min(20).max(10_000).default(350),
  /** TTL for facts that name none; 0 disables caching them. */
  defaultTtlSeconds: z.number().int().min(0).max(86_400).default(60),
  /** How long a 4xx answer is remembered (no request for those keys meanwhile). */
  errorTtlSeconds: z.number().int().min(0).max(3600).default(30),
  /** Largest response accepted, in bytes. */
  maxResponseBytes: z
    .number()
    .int()
    .min(1024)
    .max(4 * 1024 * 1024)
    .default(256 * 1024),
});
export type ContextApiSettings = z.infer<typeof contextApiSettingsSchema>;

/** Languages a tenant can fix its replies to (the offline drafter writes these too); `auto` follows the ticket. */
export const REPLY_LANGUAGES = ['auto', 'en', 'de', 'es', 'fr', 'pt'] as const;

export const draftingSettingsSchema = z.object({
  /** OpenAI model for this tenant. */
  model: z.string().min(1).max(100).default('gpt-4.1-mini'),
  /**
   * An OpenAI-compatible server for this tenant (`https://.../v1`), used only with the tenant's
   * own model API key (sealed in tenant_secrets as `model_api_key`): the server's key is never
   * sent to a tenant's address. Checked again when saved (src/pipeline/drafting/tenant-model.ts).
   */
  baseUrl: z
    .string()
    .url()
    .max(2000)
    .refine((u) => /^https?:$/.test(new URL(u).protocol), 'must be an https URL')
    .refine((u) => !new URL(u).username && !new URL(u).password, 'credentials in the URL are not allowed')
    .optional(),
  /** The language of every reply, or `auto` for the ticket's own language. */
  replyLanguage: z.enum(REPLY_LANGUAGES).default('auto'),
});
export type DraftingSettings = z.infer<typeof draftingSettingsSchema>;

export const pipelineSettingsSchema = z.object({
  routing: routingSettingsSchema.default({ orgField: 'account_id', brands: {} }),
  context: z
    .object({
      /** One deadline for all providers together. */
      deadlineMs: z.number().int().min(20).max(30_000).default(800),
      /** Per-provider timeout (defaults to the deadline). */
      providerTimeoutMs: z.number().int().min(10).max(30_000).optional(),
      /** Most knowledge-base articles loaded per ticket. */
      kbLimit: z.number().int().min(0).max(20).default(3),
      /** Recent Zendesk tickets loaded per requester / organization. */
      recentTickets: z.number().int().min(0).max(50).default(5),
    })
    .default({ deadlineMs: 800, kbLimit: 3, recentTickets: 5 }),
  contextApi: contextApiSettingsSchema.optional(),
  drafting: draftingSettingsSchema.default({ model: 'gpt-4.1-mini', replyLanguage: 'auto' }),
  /** The tenant's usage ceilings (src/pipeline/quota.ts); none by default. */
  limits: limitsSchema.optional(),
});
export type PipelineSettings = z.infer<typeof pipelineSettingsSchema>;

/** Parses a settings document; throws a non-retryable AppError naming the wrong field. */
export function parsePipelineSettings(raw: unknown): PipelineSettings {
  const parsed = pipelineSettingsSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new AppError(
      'invalid_state',
      `Tenant settings are invalid at ${first?.path.join('.') || '(root)'}: ${first?.message ?? 'unknown'}`,
    );
  }
  return parsed.data;
}

/** Reads and validates the tenant's pipeline settings inside its transaction. */
export async function readPipelineSettings(tx: Tx): Promise<PipelineSettings> {
  const rows = await tx.select({ settings: tenantSettings.settings }).from(tenantSettings).limit(1);
  return parsePipelineSettings(rows[0]?.settings ?? {});
}

/** Merges `patch` into the tenant's settings document (shallow, per top-level key). For admin tools and tests. */
export async function updatePipelineSettings(
  tx: Tx,
  tenantId: string,
  patch: Partial<Record<keyof PipelineSettings, unknown>>,
): Promise<void> {
  const rows = await tx.select({ settings: tenantSettings.settings }).from(tenantSettings).limit(1);
  const next = { ...(rows[0]?.settings ?? {}), ...patch };
  parsePipelineSettings(next);
  if (rows.length === 0) await tx.insert(tenantSettings).values({ tenantId, settings: next });
  else
    await tx
      .update(tenantSettings)
      .set({ settings: next, updatedAt: new Date() })
      .where(eq(tenantSettings.tenantId, tenantId));
}
