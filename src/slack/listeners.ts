import type { App } from '@slack/bolt';
import type { Database } from '../db/client.ts';
import { webhookDeliveries } from '../db/schema/index.ts';
import { withTenant } from '../db/tenant.ts';
import type { JobQueue } from '../jobs/types.ts';
import { AppError } from '../lib/errors.ts';
import { askJob } from './ask-job.ts';

/**
 * Bolt listeners for questions: `app_mention` in channels and `message` in the app's messages
 * tab (`message.im`). Ack first: a listener only records the delivery and enqueues one durable
 * `slack.ask` job, in one transaction; the answer comes from the job.
 *
 * Retries (`X-Slack-Retry-Num`, or a duplicate delivery) are deduplicated on `event_id` in the
 * database: the delivery row (`webhook_deliveries`, invocation id `slack:<event_id>`) and the
 * job's dedupe key (`slack.ask:<event_id>`) are both unique per tenant.
 */
export interface SlackListenerDeps {
  database: Database;
  queue: JobQueue;
  jobsEnqueued?: () => void;
}

interface Envelope {
  event_id?: string;
  is_ext_shared_channel?: boolean;
}

type Incoming = {
  type: string;
  user?: string;
  user_team?: string;
  team?: string;
  text?: string;
  ts?: string;
  thread_ts?: string;
  channel?: string;
  channel_type?: string;
  subtype?: string;
  bot_id?: string;
};

export async function recordSlackQuestion(
  deps: SlackListenerDeps,
  tenantId: string,
  input: { envelope: Envelope; event: Incoming; installTeamId: string | null },
): Promise<{ created: boolean }> {
  const { envelope, event } = input;
  if (!envelope.event_id || !event.user || !event.channel || !event.ts) return { created: false };
  const channelType =
    event.channel_type === 'im' || event.channel_type === 'mpim' || event.channel_type === 'group'
      ? event.channel_type
      : 'channel';
  const job = askJob({
    eventId: envelope.event_id,
    installTeamId: input.installTeamId,
    channel: event.channel,
    channelType,
    user: event.user,
    userTeamId: event.user_team ?? event.team ?? null,
    text: (event.text ?? '').slice(0, 8000),
    ts: event.ts,
    threadTs: event.thread_ts ?? event.ts,
    extShared: envelope.is_ext_shared_channel === true,
  });
  const created = await withTenant(deps.database.db, tenantId, async (tx) => {
    const enq = await deps.queue.enqueue(tx, tenantId, job);
    const key = `slack:${envelope.event_id}`;
    const ins = await tx
      .insert(webhookDeliveries)
      .values({
        tenantId,
        connectionId: `slack:${input.installTeamId ?? 'org'}`,
        invocationId: key,
        eventKey: key,
        ticketId: '',
        event: `slack.${event.type}`,
        jobId: enq.id,
      })
      .onConflictDoNothing()
      .returning({ jobId: webhookDeliveries.jobId });
    return enq.created && ins.length > 0;
  });
  if (created) deps.jobsEnqueued?.();
  return { created };
}

export function registerSlackListeners(app: App, deps: SlackListenerDeps): void {
  const tenantOf = (context: Record<string, unknown>) => {
    const t = context.tenantId;
    if (typeof t !== 'string') throw new AppError('internal', 'Slack event without a resolved tenant');
    return t;
  };
  app.event('app_mention', async ({ event, body, context }) => {
    await recordSlackQuestion(deps, tenantOf(context), {
      envelope: body as Envelope,
      event: event as unknown as Incoming,
      installTeamId: context.teamId ?? null,
    });
  });
  app.event('message', async ({ event, body, context }) => {
    const e = event as unknown as Incoming;
    // The messages tab only (channel messages arrive as app_mention); no edits, joins or bots.
    if (e.channel_type !== 'im' || e.subtype || e.bot_id) return;
    await recordSlackQuestion(deps, tenantOf(context), {
      envelope: body as Envelope,
      event: e,
      installTeamId: context.teamId ?? null,
    });
  });
}
