import type { Db } from '../../src/db/client.ts';
import { zendeskConnections } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { randomToken } from '../../src/lib/ids.ts';
import { createTenant } from '../../src/tenancy/tenants.ts';
import type { Vault } from '../../src/tenancy/vault.ts';
import {
  signZendeskWebhook,
  ZENDESK_INVOCATION_HEADER,
  ZENDESK_SIGNATURE_HEADER,
  ZENDESK_TIMESTAMP_HEADER,
} from '../../src/zendesk/webhook-verify.ts';

/** Zendesk's timestamp header format: ISO-8601 to the second (`2021-03-25T05:09:27Z`). */
export function zendeskTimestamp(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}

/** Headers of a Zendesk webhook call signed the way Zendesk signs: base64 HMAC of timestamp + raw body. */
export async function signedZendeskHeaders(
  secret: string,
  body: string | Uint8Array,
  opts: { at?: Date; invocationId?: string | null; timestamp?: string } = {},
): Promise<Record<string, string>> {
  const timestamp = opts.timestamp ?? zendeskTimestamp(opts.at ?? new Date());
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    [ZENDESK_SIGNATURE_HEADER]: await signZendeskWebhook(secret, timestamp, body),
    [ZENDESK_TIMESTAMP_HEADER]: timestamp,
    'x-zendesk-account-id': '123456',
    'x-zendesk-webhook-id': '01HWEBHOOK',
  };
  if (opts.invocationId !== null)
    headers[ZENDESK_INVOCATION_HEADER] = opts.invocationId ?? String(Date.now()) + randomToken(4);
  return headers;
}

export interface ZendeskFixture {
  tenantId: string;
  connectionId: string;
  hookId: string;
  /** The plaintext signing secret (sealed in the row). */
  secret: string;
}

/** A tenant with a provisioned Zendesk connection: hook id and sealed signing secret. */
export async function createZendeskTenant(
  db: Db,
  vault: Vault,
  opts: { subdomain?: string; status?: 'active' | 'needs_reauth' | 'revoked'; withSecret?: boolean } = {},
): Promise<ZendeskFixture> {
  const { id: tenantId } = await createTenant(db, {
    name: 'Zendesk tenant',
    actor: { type: 'system', name: 'test' },
  });
  const hookId = randomToken(24);
  const secret = randomToken(32);
  const connectionId = `zc_${randomToken(8)}`;
  const sealed =
    opts.withSecret === false ? null : await vault.seal(tenantId, 'zendesk_webhook_secret', secret);
  await withTenant(db, tenantId, (tx) =>
    tx.insert(zendeskConnections).values({
      tenantId,
      id: connectionId,
      subdomain:
        opts.subdomain ??
        `acme${randomToken(4)
          .toLowerCase()
          .replace(/[^a-z0-9]/g, 'x')}`,
      hookId,
      status: opts.status ?? 'active',
      webhookSecret: sealed,
    }),
  );
  return { tenantId, connectionId, hookId, secret };
}
