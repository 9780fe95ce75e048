import { AsyncLocalStorage } from 'node:async_hooks';
import { createApp } from '../app.ts';
import { pruneAuditTrails } from '../audit/retention.ts';
import { type Config, ConfigError, parseConfig } from '../config.ts';
import { type Database, openDatabase } from '../db/client.ts';
import { createJobQueue } from '../jobs/queue.ts';
import { claimAndRunOnce } from '../jobs/sweep-once.ts';
import type { JobHandler } from '../jobs/types.ts';
import { describeError } from '../lib/errors.ts';
import { createLogger, type Logger } from '../lib/logger.ts';
import { createUpstreamLimiter } from '../limits/upstream.ts';
import { sweepExpiringTokens } from '../oauth/sweep.ts';
import { createTokenManager } from '../oauth/token-manager.ts';
import { createWorkersResolver } from '../pipeline/context/workers-resolver.ts';
import { drafterFromConfig } from '../pipeline/drafting/openai.ts';
import { createTicketHandler, TICKET_JOB_KIND } from '../pipeline/process-ticket.ts';
import { purgeDueTenants } from '../tenancy/deletion.ts';
import { deleteExpiredSessions } from '../tenancy/sessions.ts';
import { createVault, type Vault } from '../tenancy/vault.ts';
import { zendeskDeprovisioner } from '../zendesk/provisioning.ts';
import { withAgentReplyMatching } from '../zendesk/sidebar-reply-match.ts';

/**
 * Cloudflare Workers entry (workerd): wiring only, like src/entry/node.ts.
 *
 * - Config: the Worker's string bindings (wrangler.toml `[vars]` and secrets) parsed by the same
 *   zod schema as the Node environment; DATABASE_URL is the Hyperdrive binding's connection string.
 * - Database: postgres.js through Hyperdrive, one small client per request or cron event (workerd
 *   forbids I/O objects shared across requests; Hyperdrive keeps the pool to PostgreSQL warm).
 *   Migrations are never run here: run `npm run db:migrate` from a machine with the owner URL.
 * - Jobs: a request that enqueued a job (the Zendesk webhook) claims and runs due jobs in
 *   `ctx.waitUntil` right after its response; the cron `scheduled` handler claims due and lapsed
 *   jobs every minute, refreshes tokens every 5 minutes and purges deleted tenants hourly.
 *   Claims and leases are src/jobs/*, unchanged, so Node workers and Workers share one database.
 * - Nothing here imports cockatiel (it throws at import on workerd) or the Node-only pinned fetch.
 */

/** Hyperdrive's binding: only its connection string is used. */
interface HyperdriveBinding {
  connectionString: string;
}

export interface WorkerEnv {
  HYPERDRIVE: HyperdriveBinding;
  [name: string]: unknown;
}

interface ExecutionContextLike {
  waitUntil(promise: Promise<unknown>): void;
  passThroughOnException?(): void;
}

interface ScheduledControllerLike {
  cron: string;
  scheduledTime: number;
}

/** Cron expressions of wrangler.toml's `[triggers]` beyond "* * * * *" (jobs only): what else they run. */
const CRON_TOKENS = '*/5 * * * *';
const CRON_PURGE = '17 * * * *';

/** Jobs one waitUntil or cron run claims at once (the Node worker's default concurrency). */
const SLOTS = 4;

/** What lives for the isolate: parsed config, vault, logger. Nothing holding I/O. */
interface Isolate {
  config: Config;
  vault: Vault;
  logger: Logger;
}

let isolate: { key: unknown; value: Isolate | ConfigError } | undefined;

/** String-valued bindings plus the Hyperdrive URL, as the record the config schema reads. */
function configRecord(env: WorkerEnv): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(env)) if (typeof v === 'string') out[k] = v;
  const hd = env.HYPERDRIVE;
  if (hd && typeof hd.connectionString === 'string') out.DATABASE_URL = hd.connectionString;
  else delete out.DATABASE_URL;
  return out;
}

function isolateFor(env: WorkerEnv): Isolate | ConfigError {
  if (isolate?.key === env) return isolate.value;
  let value: Isolate | ConfigError;
  try {
    const config = parseConfig(configRecord(env));
    if (!config.DATABASE_URL)
      throw new ConfigError(['HYPERDRIVE binding is missing (see wrangler.toml [[hyperdrive]])']);
    const logger = createLogger(config.LOG_LEVEL, { service: 'helpdesk-copilot', runtime: 'workerd' }, (l) =>
      console.log(l),
    );
    value = { config, vault: createVault(config.ENCRYPTION_KEY ?? []), logger };
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    value = e;
  }
  isolate = { key: env, value };
  return value;
}

function misconfigured(e: ConfigError): Response {
  // Variable names and what they expect, never values; the same text goes to the log.
  console.error(e.message);
  return Response.json(
    {
      error: {
        code: 'internal',
        message: 'The Worker is misconfigured; its log names the variables to fix.',
        requestId: `req_${crypto.randomUUID()}`,
      },
    },
    { status: 500 },
  );
}

/** Everything that holds a database connection: built per request or cron event. */
function services(iso: Isolate, database: Database) {
  const { config, vault, logger } = iso;
  const tokens = createTokenManager({ db: database.db, vault, config, logger });
  const drafter = drafterFromConfig(config);
  // The tenants' shared limits toward Zendesk and the model (in the database, so every isolate agrees).
  const limits = createUpstreamLimiter({ db: database.db });
  const handlers: Record<string, JobHandler> = {
    // Agents' public replies are matched to inserted drafts (src/zendesk/sidebar-reply-match.ts), not drafted.
    [TICKET_JOB_KIND]: withAgentReplyMatching(
      createTicketHandler({
        database,
        vault,
        tokens,
        drafter,
        logger,
        limits,
        allowPrivateContextApi: config.CONTEXT_API_ALLOW_PRIVATE,
        // No pinned look-up on workerd: name check + DNS-over-HTTPS + Cloudflare's egress (see the file).
        resolver: createWorkersResolver(),
      }),
      { database, tokens },
    ),
  };
  return { tokens, drafter, handlers };
}

function open(iso: Isolate): Promise<Database> {
  // Hyperdrive pools the real connections; a Worker invocation should keep its own client small.
  return openDatabase({ url: iso.config.DATABASE_URL, maxConnections: 5 });
}

const requestScope = new AsyncLocalStorage<{ enqueued: boolean }>();

async function runJobs(iso: Isolate, database: Database, handlers: Record<string, JobHandler>) {
  const stats = await claimAndRunOnce({ database, handlers, logger: iso.logger, slots: SLOTS });
  if (stats.claimed) iso.logger.info('jobs run', { ...stats });
  return stats;
}

async function closeQuietly(iso: Isolate, database: Database) {
  await database.close().catch((e) => iso.logger.warn('database close failed', { error: describeError(e) }));
}

export default {
  async fetch(request: Request, env: WorkerEnv, ctx: ExecutionContextLike): Promise<Response> {
    const iso = isolateFor(env);
    if (iso instanceof ConfigError) return misconfigured(iso);
    const database = await open(iso);
    const { tokens, drafter, handlers } = services(iso, database);
    const app = createApp({
      config: iso.config,
      database,
      vault: iso.vault,
      logger: iso.logger,
      queue: createJobQueue(),
      // Marks this request: after its response, its jobs run in waitUntil (below).
      jobsEnqueued: () => {
        const scope = requestScope.getStore();
        if (scope) scope.enqueued = true;
      },
      tokens,
      drafter,
      // The Context API URL is checked when an admin saves it, with the same resolver as at fetch time.
      contextApiResolver: createWorkersResolver(),
      deprovision: zendeskDeprovisioner({
        db: database.db,
        vault: iso.vault,
        tokens,
        publicUrl: iso.config.PUBLIC_URL,
      }),
    });
    const scope = { enqueued: false };
    let response: Response;
    try {
      response = await requestScope.run(scope, () => app.fetch(request));
    } catch (e) {
      ctx.waitUntil(closeQuietly(iso, database));
      throw e;
    }
    ctx.waitUntil(
      (async () => {
        try {
          // The job just committed (or any other due job, fairly): the cron sweep catches what this misses.
          if (scope.enqueued) await runJobs(iso, database, handlers);
        } catch (e) {
          iso.logger.error('jobs after the response failed; the cron sweep retries', {
            error: describeError(e),
          });
        } finally {
          await closeQuietly(iso, database);
        }
      })(),
    );
    return response;
  },

  async scheduled(controller: ScheduledControllerLike, env: WorkerEnv, ctx: ExecutionContextLike) {
    const iso = isolateFor(env);
    if (iso instanceof ConfigError) {
      console.error(iso.message);
      return;
    }
    const work = (async () => {
      const database = await open(iso);
      try {
        const { tokens, handlers } = services(iso, database);
        if (controller.cron === CRON_TOKENS) {
          const r = await sweepExpiringTokens({ db: database.db, tokens, logger: iso.logger });
          if (r.refreshed.length || r.failed.length)
            iso.logger.info('token sweep', { refreshed: r.refreshed.length, failed: r.failed.length });
        } else if (controller.cron === CRON_PURGE) {
          await purgeDueTenants(database.db, new Date(), { log: iso.logger });
          const expired = await deleteExpiredSessions(database.db, new Date());
          if (expired > 0) iso.logger.info('expired admin sessions deleted', { count: expired });
          await pruneAuditTrails(database.db, new Date(), iso.logger);
        }
        // Every trigger also claims due and lapsed jobs (retries, jobs a waitUntil did not finish).
        await runJobs(iso, database, handlers);
      } catch (e) {
        iso.logger.error('scheduled run failed', { cron: controller.cron, error: describeError(e) });
      } finally {
        await closeQuietly(iso, database);
      }
    })();
    ctx.waitUntil(work);
    await work;
  },
};
