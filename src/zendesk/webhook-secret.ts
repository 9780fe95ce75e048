import { and, eq, isNull, ne, or } from 'drizzle-orm';
import { audit } from '../audit/audit.ts';
import type { Db } from '../db/client.ts';
import { zendeskConnections } from '../db/schema/index.ts';
import { withTenant } from '../db/tenant.ts';
import { AppError, describeError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import { SealedSecretError, type Vault } from '../tenancy/vault.ts';

/**
 * What happens when a Zendesk connection's sealed webhook signing secret does not open (the
 * column was tampered with, copied from another row, or sealed with a key version that is no
 * longer configured).
 *
 * The delivery is answered `401 webhook_secret_unavailable`, not a 500. Why a 4xx: a request we
 * cannot verify must not be accepted, and retrying it cannot help. Zendesk retries only some
 * answers (409; 429/503 with a short Retry-After; timeouts: shared/reference/slack-zendesk-facts.md
 * §2.3), within minutes, and the secret will not open by then: the remedy is an admin reconnecting
 * Zendesk, which provisions the webhook again with a new secret, under which this delivery's
 * signature never verifies. So refusing loses nothing that a retry could recover, and a 5xx would
 * only look like an outage of ours. The ticket itself is not lost: it is still in Zendesk, and
 * its next event after the reconnect is drafted as usual.
 *
 * The connection is marked `needs_reauth` with status detail `webhook_secret_unavailable` (shown
 * in the admin console, counted by /readyz), and that change is audited once
 * (`zendesk.webhook_secret_unavailable`); later deliveries find it marked and only log.
 */
export const WEBHOOK_SECRET_UNAVAILABLE = 'webhook_secret_unavailable';

/** Thrown inside the webhook's transaction; the transaction rolls back, then the mark is written. */
export class WebhookSecretUnavailableError extends AppError {
  readonly tenantId: string;
  readonly connectionId: string;
  readonly reason: SealedSecretError['reason'];
  constructor(tenantId: string, connectionId: string, cause: SealedSecretError) {
    super(
      'webhook_secret_unavailable',
      "This webhook's signing secret cannot be read, so the request cannot be verified. An admin must reconnect Zendesk.",
      { cause },
    );
    this.name = 'WebhookSecretUnavailableError';
    this.tenantId = tenantId;
    this.connectionId = connectionId;
    this.reason = cause.reason;
  }
}

/** Opens the connection's sealed signing secret; WebhookSecretUnavailableError when it does not open. */
export async function openWebhookSecret(
  vault: Vault,
  tenantId: string,
  connectionId: string,
  sealed: string,
): Promise<string> {
  try {
    return await vault.open(tenantId, 'zendesk_webhook_secret', sealed);
  } catch (e) {
    if (e instanceof SealedSecretError) throw new WebhookSecretUnavailableError(tenantId, connectionId, e);
    throw e;
  }
}

/**
 * `.catch` handler for the webhook's transaction: for WebhookSecretUnavailableError, marks the
 * connection and audits it (in its own transaction: the webhook's has rolled back), then rethrows
 * the error either way. A failure to mark is logged, and the refusal still goes out.
 */
export function recordUnavailableSecret(deps: { db: Db; now: () => Date; log?: Logger | undefined }) {
  return async (e: unknown): Promise<never> => {
    if (!(e instanceof WebhookSecretUnavailableError)) throw e;
    try {
      await markWebhookSecretUnavailable(deps.db, e, deps.now());
    } catch (markError) {
      deps.log?.error('zendesk webhook: could not mark the connection', {
        tenantId: e.tenantId,
        error: describeError(markError),
      });
    }
    throw e;
  };
}

/** Marks the connection needs_reauth / webhook_secret_unavailable and audits it, once. True when it changed. */
export async function markWebhookSecretUnavailable(
  db: Db,
  e: WebhookSecretUnavailableError,
  now: Date,
): Promise<boolean> {
  return withTenant(db, e.tenantId, async (tx) => {
    const changed = await tx
      .update(zendeskConnections)
      .set({ status: 'needs_reauth', statusDetail: WEBHOOK_SECRET_UNAVAILABLE, updatedAt: now })
      .where(
        and(
          eq(zendeskConnections.id, e.connectionId),
          ne(zendeskConnections.status, 'revoked'),
          or(
            isNull(zendeskConnections.statusDetail),
            ne(zendeskConnections.statusDetail, WEBHOOK_SECRET_UNAVAILABLE),
          ),
        ),
      )
      .returning({ id: zendeskConnections.id });
    if (changed.length === 0) return false;
    await audit(
      { tenantId: e.tenantId, tx, actor: { type: 'webhook', provider: 'zendesk' } },
      {
        action: 'zendesk.webhook_secret_unavailable',
        target: e.connectionId,
        outcome: 'failure',
        detail: { reason: e.reason, status: 'needs_reauth' },
      },
    );
    return true;
  });
}
