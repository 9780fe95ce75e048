import { z } from 'zod';
import type { EnqueueInput } from '../jobs/types.ts';

/**
 * The `slack.ask` job contract: one rep question (a mention, a DM in the app's messages tab, or a
 * choice in the account select menu), written by the Slack listener, read by src/slack/ask.ts.
 * Every field comes from the signed payload. The dedupe key is the event id (plus the choice
 * or regeneration), so Slack's retries make one job.
 */
export const SLACK_ASK_JOB_KIND = 'slack.ask';

const id = z.string().min(1).max(64);

export const askJobPayloadSchema = z
  .object({
    eventId: id,
    /** The installation's own team (the tenant's workspace). */
    installTeamId: id.nullable(),
    channel: id,
    channelType: z.enum(['channel', 'group', 'im', 'mpim']),
    user: id,
    /** The asking user's own workspace (differs from installTeamId for Slack Connect users). */
    userTeamId: id.nullable(),
    text: z.string().max(8000),
    ts: id,
    threadTs: id,
    /** From the signed envelope; the handler also asks conversations.info. */
    extShared: z.boolean(),
    /** Set when the rep picked the account in the select menu. */
    accountId: z.string().min(1).max(200).optional(),
    /** Regeneration counter: a new draft for the same question. */
    regen: z.number().int().min(0).max(1000).default(0),
  })
  .strict();
export type AskJobPayload = z.infer<typeof askJobPayloadSchema>;

export function askJob(payload: z.input<typeof askJobPayloadSchema>): EnqueueInput {
  const p = askJobPayloadSchema.parse(payload);
  const suffix = `${p.accountId ? `:a:${p.accountId}` : ''}${p.regen ? `:r${p.regen}` : ''}`;
  return {
    kind: SLACK_ASK_JOB_KIND,
    payload: p,
    dedupeKey: `slack.ask:${p.eventId}${suffix}`,
    maxAttempts: 5,
  };
}

export function readAskJob(payload: unknown): AskJobPayload | null {
  const r = askJobPayloadSchema.safeParse(payload);
  return r.success ? r.data : null;
}

/** `slack.action`: a button press on a draft (Send, Reject, Regenerate), run off the 3-second ack. */
export const SLACK_ACTION_JOB_KIND = 'slack.action';

export const actionJobPayloadSchema = z
  .object({
    action: z.enum(['send', 'reject', 'regenerate']),
    actionId: id,
    draftId: z.string().min(1).max(100),
    user: id,
    userTeamId: id.nullable(),
    channel: id,
    messageTs: id.nullable(),
  })
  .strict();
export type ActionJobPayload = z.infer<typeof actionJobPayloadSchema>;

export function actionJob(p: ActionJobPayload): EnqueueInput {
  return {
    kind: SLACK_ACTION_JOB_KIND,
    payload: actionJobPayloadSchema.parse(p),
    dedupeKey: `slack.action:${p.draftId}:${p.action}:${p.actionId}`,
    maxAttempts: 5,
  };
}
