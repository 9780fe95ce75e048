import type { Config } from '../config.ts';
import type { Database } from '../db/client.ts';
import type { JobQueue } from '../jobs/types.ts';
import type { Logger } from '../lib/logger.ts';
import type { TokenProvider } from '../oauth/token-provider.ts';
import type { Resolver } from '../pipeline/context/net-guard.ts';
import type { Drafter } from '../pipeline/drafting/types.ts';
import type { SlackBolt } from '../slack/bolt.ts';
import type { OidcIssuer } from '../slack/signin.ts';
import type { SlackLimiter } from '../slack/web.ts';
import type { Deprovision } from '../tenancy/deletion.ts';
import type { Principal } from '../tenancy/principal.ts';
import type { LocalLoginLinks } from '../tenancy/sessions.ts';
import type { Vault } from '../tenancy/vault.ts';

/**
 * Everything a handler may use, built once by the entry (or a test) and passed to createApp.
 * Handlers read nothing global: they take what they need from `c.get('deps')`.
 */
export interface AppDeps {
  config: Config;
  database: Database;
  vault: Vault;
  logger: Logger;
  /** Clock, injectable for tests. */
  now?: () => Date;
  /** Largest request body accepted, in bytes (default 1 MiB). */
  maxBodyBytes?: number;
  /** Provider access tokens (src/oauth/token-manager.ts). */
  tokens?: TokenProvider;
  /** The Zendesk sidebar app package for PUBLIC_URL, uploaded by provisioning (src/zendesk/sidebar-app.ts). */
  sidebarAppPackage?: () => Uint8Array | Promise<Uint8Array>;
  /** Durable job queue (src/jobs/). */
  queue?: JobQueue;
  /** Draft writer for tickets and questions (src/pipeline/drafting/: OpenAI or offline). */
  drafter?: Drafter;
  /** Called after a request committed new jobs, so an in-process worker claims them at once (Worker.notify). */
  jobsEnqueued?: () => void;
  /** "Sign in with Slack" issuer; Slack's by default (tests use an in-process OIDC provider). */
  slackOidc?: OidcIssuer;
  /** Bolt behind POST /slack/events (src/slack/bolt.ts); without it, other events are acked and ignored. */
  slackBolt?: SlackBolt;
  /** Slack Web API pacing for this process (per channel, per-tenant 429 pause); created on first use if absent. */
  slackLimiter?: SlackLimiter;
  /** One-time local admin links (embedded database only; src/tenancy/sessions.ts). */
  localLogin?: LocalLoginLinks;
  /**
   * Resolves a Context API host when an admin saves the URL (a name resolving to a private address
   * is refused then, not only at fetch time). The entries pass the fetch path's resolver; without
   * one (tests), only IP literals and internal names are checked at save time.
   */
  contextApiResolver?: Resolver;
  /** Network for Context API calls made by requests (the test request, the playground): the Node entry passes the pipeline's pinned fetch; default the global fetch. */
  contextFetch?: typeof fetch;
  /** Removes Zendesk provisioning when a tenant is deleted (src/zendesk/provisioning.ts), best effort. */
  deprovision?: Deprovision;
}

export interface AppEnv {
  Variables: {
    deps: AppDeps;
    requestId: string;
    log: Logger;
    /** Set by the session middleware when a valid admin session cookie is present. */
    principal: Principal | undefined;
    /** Set instead when the cookie's session belonged to a tenant that is not active (it was ended). */
    sessionRefused: 'tenant_inactive' | undefined;
  };
}
