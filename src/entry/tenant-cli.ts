import { describeError } from '../lib/errors.ts';
import { createTokenManager } from '../oauth/token-manager.ts';
import { cancelTenantDeletion, purgeDueTenants, requestTenantDeletion } from '../tenancy/deletion.ts';
import { tenantIdsNeedingReauth } from '../tenancy/lookup.ts';
import { zendeskDeprovisioner } from '../zendesk/provisioning.ts';
import { environment, loadConfigOrExit, openRuntime, wantsHelp } from './runtime.ts';

/**
 * `npm run tenant -- delete <tenantId>`: starts the deletion of a tenant (status deleting,
 *   tokens erased now, Zendesk provisioning removed best effort, purge after TENANT_RETENTION_DAYS).
 * `npm run tenant -- cancel-deletion <tenantId>`: cancels a deletion request within its retention
 *   window (the tenant is active again with its data; connections must be made again).
 * `npm run tenant -- purge [--now]`: purges tenants whose retention window has passed; with
 *   `--now`, every tenant whose deletion was requested, without waiting for the window.
 * `npm run tenant -- needs-reauth`: the tenants with a Slack or Zendesk connection that needs
 *   re-authorization, one JSON line (anonymous /readyz shows only the counts).
 * On the embedded database, stop the server first (PGlite allows one process per data directory).
 */
const USAGE = `usage: npm run tenant -- delete <tenantId>
       npm run tenant -- cancel-deletion <tenantId>
       npm run tenant -- purge [--now]
       npm run tenant -- needs-reauth
  delete        starts a tenant's deletion: tokens erased now, data purged after TENANT_RETENTION_DAYS
  cancel-deletion  cancels a deletion request within its retention window (then reconnect Slack and Zendesk)
  purge         purges tenants whose retention window has passed (--now: every tenant being deleted)
  needs-reauth  lists the tenants whose Slack or Zendesk connection needs re-authorization
`;

const [command, ...rest] = process.argv.slice(2);
if (wantsHelp()) {
  process.stdout.write(USAGE);
  process.exit(0);
}
if (
  command !== 'delete' &&
  command !== 'cancel-deletion' &&
  command !== 'purge' &&
  command !== 'needs-reauth'
) {
  process.stderr.write(USAGE);
  process.exit(2);
}

const config = loadConfigOrExit(environment());
const rt = await openRuntime(config, { migrate: !config.DATABASE_URL });
const actor = { type: 'cli' as const, name: 'tenant-cli' };
let code = 0;
try {
  if (command === 'delete') {
    const tenantId = rest.find((a) => !a.startsWith('--'));
    if (!tenantId) {
      process.stderr.write(USAGE);
      code = 2;
    } else {
      const tokens = createTokenManager({ db: rt.database.db, vault: rt.vault, config, logger: rt.logger });
      const r = await requestTenantDeletion(rt.database.db, {
        tenantId,
        actor,
        retentionDays: config.TENANT_RETENTION_DAYS,
        deprovision: zendeskDeprovisioner({
          db: rt.database.db,
          vault: rt.vault,
          tokens,
          publicUrl: config.PUBLIC_URL,
        }),
        log: rt.logger,
      });
      process.stdout.write(
        `${JSON.stringify({ tenantId: r.tenantId, status: r.status, deleteAfter: r.deleteAfter.toISOString(), alreadyRequested: r.alreadyRequested })}\n`,
      );
    }
  } else if (command === 'cancel-deletion') {
    const tenantId = rest.find((a) => !a.startsWith('--'));
    if (!tenantId) {
      process.stderr.write(USAGE);
      code = 2;
    } else {
      const r = await cancelTenantDeletion(rt.database.db, { tenantId, actor });
      process.stdout.write(
        `${JSON.stringify({ tenantId: r.tenantId, status: r.status, deleteAfterWas: r.deleteAfterWas.toISOString() })}\n`,
      );
    }
  } else if (command === 'needs-reauth') {
    const rows = await tenantIdsNeedingReauth(rt.database.db, 10_000);
    process.stdout.write(`${JSON.stringify({ needsReauth: rows })}\n`);
  } else {
    const results = await purgeDueTenants(rt.database.db, new Date(), {
      ignoreRetention: rest.includes('--now'),
      log: rt.logger,
    });
    process.stdout.write(`${JSON.stringify({ purged: results.map(({ perTable: _, ...r }) => r) })}\n`);
  }
} catch (e) {
  process.stderr.write(`${describeError(e)}\n`);
  code = 1;
} finally {
  await rt.database.close();
}
process.exit(code);
