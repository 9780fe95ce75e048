import { serve } from '@hono/node-server';
import { createApp } from '../app.ts';
import { appliedMigrations, EXPECTED_MIGRATIONS } from '../db/client.ts';
import { createJobQueue } from '../jobs/queue.ts';
import type { JobHandler } from '../jobs/types.ts';
import { createWorker } from '../jobs/worker.ts';
import { startTokenSweep } from '../oauth/sweep.ts';
import { createTokenManager } from '../oauth/token-manager.ts';
import { createPinnedFetch } from '../pipeline/context/pinned-fetch.ts';
import { drafterFromConfig } from '../pipeline/drafting/openai.ts';
import { createTicketHandler, TICKET_JOB_KIND } from '../pipeline/process-ticket.ts';
import { createActionHandler } from '../slack/actions.ts';
import { createAskHandler, type SlackJobDeps } from '../slack/ask.ts';
import { SLACK_ACTION_JOB_KIND, SLACK_ASK_JOB_KIND } from '../slack/ask-job.ts';
import { createSlackBolt } from '../slack/bolt.ts';
import { registerSlackListeners } from '../slack/listeners.ts';
import { createSlackLimiter } from '../slack/web.ts';
import { startPurgeSweep } from '../tenancy/deletion.ts';
import { createLocalLoginLinks, ensureLocalTenant } from '../tenancy/sessions.ts';
import { zendeskDeprovisioner } from '../zendesk/provisioning.ts';
import { loadConfigOrExit, openRuntime } from './runtime.ts';

/** Node entry: wiring only. Embedded PGlite is migrated on start; PostgreSQL via `npm run db:migrate`. */
const config = loadConfigOrExit(process.env);
const rt = await openRuntime(config, { migrate: !config.DATABASE_URL });
if (rt.database.kind === 'postgres') {
  const applied = await appliedMigrations(rt.database.db);
  if (applied !== EXPECTED_MIGRATIONS) {
    rt.logger.warn(
      'database migrations are not current: run `npm run db:migrate`; /readyz answers 503 until then',
      {
        applied,
        expected: EXPECTED_MIGRATIONS,
      },
    );
  }
}

const queue = createJobQueue();
// Provider tokens: refreshed under a row lock, one refresh per connection across processes.
const tokens = createTokenManager({ db: rt.database.db, vault: rt.vault, config, logger: rt.logger });
// One-time local admin links exist only on the embedded database (see README, admin sign-in).
const localLogin = rt.database.kind === 'pglite' ? createLocalLoginLinks() : undefined;
// Drafts: OpenAI when OPENAI_API_KEY is set, else the offline drafter.
const drafter = drafterFromConfig(config);
// Slack: Bolt behind POST /slack/events (listeners enqueue slack.ask jobs), one limiter per process.
const slackLimiter = createSlackLimiter();
const slackBolt = config.SLACK_SIGNING_SECRET
  ? createSlackBolt({ db: rt.database.db, tokens, logger: rt.logger })
  : undefined;
if (slackBolt) {
  registerSlackListeners(slackBolt.app, {
    database: rt.database,
    queue,
    jobsEnqueued: () => worker?.notify(),
  });
}
const app = createApp({
  slackBolt,
  slackLimiter,
  config,
  database: rt.database,
  vault: rt.vault,
  logger: rt.logger,
  queue,
  // A webhook that enqueued a job wakes this process's worker (declared below; called per request).
  jobsEnqueued: () => worker?.notify(),
  localLogin,
  tokens,
  drafter,
  deprovision: zendeskDeprovisioner({
    db: rt.database.db,
    vault: rt.vault,
    tokens,
    publicUrl: config.PUBLIC_URL,
  }),
});
// Refreshes tokens nearing expiry (and Zendesk refresh tokens nearing their 30 days), every 5 minutes.
const tokenSweep = startTokenSweep({ db: rt.database.db, tokens, logger: rt.logger });
// Purges tenants whose deletion retention window has passed (hourly).
const stopPurgeSweep = startPurgeSweep(rt.database.db, rt.logger);

// Job handlers by kind.
const pipelineDeps = {
  database: rt.database,
  vault: rt.vault,
  tokens,
  drafter,
  logger: rt.logger,
  allowPrivateContextApi: config.CONTEXT_API_ALLOW_PRIVATE,
  // Tenant Context API calls check addresses at connect time too (no DNS rebinding).
  contextFetch: createPinnedFetch({ allowPrivate: config.CONTEXT_API_ALLOW_PRIVATE }),
};
const slackJobDeps: SlackJobDeps = {
  ...pipelineDeps,
  limiter: slackLimiter,
  queue,
  publicUrl: config.PUBLIC_URL,
};
const jobHandlers: Record<string, JobHandler> = {
  [TICKET_JOB_KIND]: createTicketHandler(pipelineDeps),
  [SLACK_ASK_JOB_KIND]: createAskHandler(slackJobDeps),
  [SLACK_ACTION_JOB_KIND]: createActionHandler(slackJobDeps),
};
const worker = config.WORKER_ENABLED
  ? createWorker({ database: rt.database, handlers: jobHandlers, logger: rt.logger })
  : undefined;
worker?.start();
const server = serve({ fetch: app.fetch, port: config.PORT, hostname: config.HOST }, (info) => {
  rt.logger.info('listening', { url: `http://${info.address}:${info.port}`, publicUrl: config.PUBLIC_URL });
  if (localLogin) void printLocalLoginLink(info.port);
});

/** Prints, once per start, a one-time admin link for this machine (not through the log). */
async function printLocalLoginLink(port: number) {
  try {
    const tenantId = await ensureLocalTenant(rt.database.db);
    const token = await localLogin!.issue(tenantId);
    process.stdout.write(
      `\nLocal admin link (one use, valid 15 minutes, from this machine only):\n  http://127.0.0.1:${port}/admin/local-login?token=${token}\n\n`,
    );
  } catch (e) {
    rt.logger.error('could not create the local admin link', { error: String(e) });
  }
}

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  rt.logger.info('shutting down', { signal });
  server.close();
  stopPurgeSweep();
  tokenSweep.stop();
  // Graceful: running jobs finish (or are aborted after 25 s and rerun elsewhere after their lease).
  await worker?.stop({ timeoutMs: 25_000 });
  await rt.database.close();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
