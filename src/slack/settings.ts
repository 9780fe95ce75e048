import { eq } from 'drizzle-orm';
import { z } from 'zod';
import type { Tx } from '../db/client.ts';
import { tenantSettings } from '../db/schema/index.ts';
import { AppError } from '../lib/errors.ts';

/**
 * The tenant's Slack settings: the `slack` key of `tenant_settings.settings` (the pipeline's
 * reader ignores keys it does not own). No migration: a channel <-> account link is one entry of
 * `channels`. Validated on read and on write.
 */
export const slackSettingsSchema = z.object({
  /** Slack channel id -> account id: asks there are about that account; its ticket drafts go there. */
  channels: z.record(z.string().regex(/^[CGD][A-Z0-9]{2,30}$/), z.string().min(1).max(200)).default({}),
  /** The tenant's internal triage channel: where Slack Connect drafts wait for a human. */
  triageChannel: z
    .string()
    .regex(/^[CG][A-Z0-9]{2,30}$/)
    .optional(),
  /** Suggested prompts in the app's messages tab (Slack shows at most 4). */
  suggestedPrompts: z
    .array(z.object({ title: z.string().min(1).max(75), message: z.string().min(1).max(500) }))
    .max(4)
    .default([]),
});
export type SlackSettings = z.infer<typeof slackSettingsSchema>;

export const DEFAULT_SUGGESTED_PROMPTS: SlackSettings['suggestedPrompts'] = [
  { title: 'Why is an integration not firing?', message: 'Why is Zapier not firing for acme.com?' },
  { title: 'Draft a reply to a ticket', message: 'Draft a reply to ticket #' },
];

async function readDoc(tx: Tx): Promise<Record<string, unknown> | null> {
  const rows = await tx.select({ settings: tenantSettings.settings }).from(tenantSettings).limit(1);
  return rows[0] ? ((rows[0].settings ?? {}) as Record<string, unknown>) : null;
}

export async function readSlackSettings(tx: Tx): Promise<SlackSettings> {
  const parsed = slackSettingsSchema.safeParse((await readDoc(tx))?.slack ?? {});
  if (!parsed.success) throw new AppError('invalid_state', 'Tenant Slack settings are invalid.');
  return parsed.data;
}

/** Applies `change` to the tenant's Slack settings in its transaction; the result is validated first. */
export async function updateSlackSettings(
  tx: Tx,
  tenantId: string,
  change: (s: SlackSettings) => SlackSettings,
): Promise<SlackSettings> {
  const doc = await readDoc(tx);
  const current = slackSettingsSchema.parse(doc?.slack ?? {});
  const next = slackSettingsSchema.parse(change(current));
  const settings = { ...(doc ?? {}), slack: next };
  if (doc === null) await tx.insert(tenantSettings).values({ tenantId, settings });
  else
    await tx
      .update(tenantSettings)
      .set({ settings, updatedAt: new Date() })
      .where(eq(tenantSettings.tenantId, tenantId));
  return next;
}
