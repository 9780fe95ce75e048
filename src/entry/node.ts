import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { createApp } from '../app.ts';
import { appliedMigrations, EXPECTED_MIGRATIONS } from '../db/client.ts';
import { createJobQueue } from '../jobs/queue.ts';
import type { JobHandler } from '../jobs/types.ts';
import { createWorker } from '../jobs/worker.ts';
import { createUpstreamLimiter } from '../limits/upstream.ts';
import { startTokenSweep } from '../oauth/sweep.ts';
import { createTokenManager } from '../oauth/token-manager.ts';
import { systemResolver } from '../pipeline/context/net-guard.ts';
import { createPinnedFetch } from '../pipeline/context/pinned-fetch.ts';
import { drafterFromConfig } from '../pipeline/drafting/openai.ts';
import { createTicketHandler, TICKET_JOB_KIND } from '../pipeline/process-ticket.ts';
import { createActionHandler } from '../slack/actions.ts';
import { createAskHandler, type SlackJobDeps } from '../slack/ask.ts';
import { SLACK_ACTION_JOB_KIND, SLACK_ASK_JOB_KIND } from '../slack/ask-job.ts';
import { createSlackBolt } from '../slack/bolt.ts';
import { registerSlackListeners } from '../slack/listeners.ts';
import { postTicketDraftToChannel } from '../slack/ticket-drafts.ts';
import { startPurgeSweep } from '../tenancy/deletion.ts';
import { createLocalLoginLinks, ensureLocalTenant } from '../tenancy/sessions.ts';
import { buildZendeskAppZip } from '../zendesk/app-package.ts';
import { zendeskDeprovisioner } from '../zendesk/provisioning.ts';
import { autoSendDraft } from '../zendesk/sidebar-auto-send.ts';
import { withAgentReplyMatching } from '../zendesk/sidebar-reply-match.ts';
import { environment, loadConfigOrExit, openRuntime } from './runtime.ts';

/** Node entry: wiring only. Embedded PGlite is migrated on start; PostgreSQL via `npm run db:migrate`. */
const config = loadConfigOrExit(environment());

// The port first, before the database, the worker or anything else: a port in use is one line.
// Until the app is wired below, requests get 503 not_ready.
let app: ReturnType<typeof createApp> | undefined;
// (createAdaptorServer makes a node:http server unless told otherwise.)
const server = createAdaptorServer({
  fetch: (req, env) =>
    app
      ? app.fetch(req, env)
      : Response.json(
          {
            error: {
              code: 'not_ready',
              message: 'Starting up; try again in a moment.',
              requestId: 'startup',
            },
          },
          { status: 503, headers: { 'Retry-After': '1' } },
        ),
}) as Server;
const address = await listenOrExit();
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
// Every tenant's limits toward Zendesk, Slack and the model, shared with every other process
// through the database (src/limits/upstream.ts).
const limits = createUpstreamLimiter({ db: rt.database.db });
// Slack: Bolt behind POST /slack/events (listeners enqueue slack.ask jobs).
const slackLimiter = limits;
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
app = createApp({
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
  // The Context API URL is resolved and checked when an admin saves it, too.
  contextApiResolver: systemResolver,
  // The console's Context API test request and the playground's Context API calls go through the
  // same address-checking fetch as the pipeline.
  contextFetch: createPinnedFetch({ allowPrivate: config.CONTEXT_API_ALLOW_PRIVATE }),
  // Provisioning uploads the sidebar app built for PUBLIC_URL (zendesk-app/, checked as Zendesk does).
  sidebarAppPackage: () => buildZendeskAppZip(config.PUBLIC_URL),
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
  limits,
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
  // New ticket drafts also go to the account's linked Slack channel, when it has one; agents'
  // public replies are matched to inserted drafts instead of drafted.
  [TICKET_JOB_KIND]: withAgentReplyMatching(
    createTicketHandler({
      ...pipelineDeps,
      afterDraft: async (a) => {
        // Invariant 7: only where the tenant turned auto-send on for the draft's playbook.
        await autoSendDraft({ database: rt.database, tokens, now: () => new Date(), requestId: a.jobId }, a);
        if (slackBolt) await postTicketDraftToChannel(slackJobDeps, a);
      },
    }),
    { database: rt.database, tokens },
  ),
  [SLACK_ASK_JOB_KIND]: createAskHandler(slackJobDeps),
  [SLACK_ACTION_JOB_KIND]: createActionHandler(slackJobDeps),
};
const worker = config.WORKER_ENABLED
  ? createWorker({ database: rt.database, handlers: jobHandlers, logger: rt.logger })
  : undefined;
worker?.start();
rt.logger.info('listening', {
  url: `http://${address.address}:${address.port}`,
  publicUrl: config.PUBLIC_URL,
});
if (localLogin) void printLocalLoginLink(address.port);

/** Binds PORT on HOST, or exits with one line saying why (in use, not permitted, no such address). */
function listenOrExit(): Promise<AddressInfo> {
  return new Promise((resolve) => {
    const onError = (e: NodeJS.ErrnoException) => {
      const where = `port ${config.PORT} on ${config.HOST}`;
      const why =
        e.code === 'EADDRINUSE'
          ? `${where} is already in use (another \`npm start\`?): stop that process or set PORT to a free port.`
          : e.code === 'EACCES'
            ? `not allowed to listen on ${where} (ports below 1024 need privileges): set PORT.`
            : e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND'
              ? `HOST ${config.HOST} is not an address of this machine: set HOST (e.g. 127.0.0.1 or 0.0.0.0).`
              : `cannot listen on ${where}: ${e.message}`;
      process.stderr.write(`helpdesk-copilot: ${why}\n`);
      process.exit(1);
    };
    server.once('error', onError);
    server.listen(config.PORT, config.HOST, () => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    });
  });
}

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
  if (stopping) {
    // A second Ctrl-C: stop now (running jobs rerun after their lease).
    process.stderr.write('helpdesk-copilot: stopping now\n');
    process.exit(1);
  }
  stopping = true;
  rt.logger.info('shutting down', { signal });
  // Whatever hangs below, the process ends: 30 s covers the worker's 25 s.
  setTimeout(() => process.exit(1), 30_000).unref();
  let code = 0;
  try {
    server.close();
    server.closeIdleConnections?.();
    stopPurgeSweep();
    tokenSweep.stop();
    // Graceful: running jobs finish (or are aborted after 25 s and rerun elsewhere after their lease).
    await worker?.stop({ timeoutMs: 25_000 });
    await rt.database.close();
  } catch (e) {
    rt.logger.error('shutdown failed', { error: String(e) });
    code = 1;
  }
  process.exit(code);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
