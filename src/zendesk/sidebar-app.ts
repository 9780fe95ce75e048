import { and, eq } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { sidebarAppProvisioning, sidebarInstallations } from '../db/schema/index.ts';
import { withTenant } from '../db/tenant.ts';
import { describeError } from '../lib/errors.ts';
import { isZendeskNotFound, ZendeskApiError } from './api.ts';
import type { ZendeskResources } from './resources.ts';

/**
 * The sidebar app in a tenant's Zendesk, through the Apps API, with no manual step: upload the
 * package (`zendesk-app/`, built for PUBLIC_URL), create the private app (an asynchronous build:
 * poll its job), install it; recorded in `sidebar_installations` (origin `provisioned`), which is
 * what lets the app's signed-URL tokens in.
 *
 * Idempotent like the webhook and triggers (provisioning.ts): the stored installation is verified
 * (GET) before reuse; before creating anything we look for ours by stable identity (the app by
 * its exact name among the account's owned apps, the installation by app id), so a crash between
 * a create and our write leaves no duplicate. A plan that refuses private apps (Zendesk answers
 * 403 to the upload, create or install) is recorded as `plan_refused` in
 * `sidebar_app_provisioning`: the console's checklist and the README tell the admin how to upload
 * the zip by hand. Failing here never fails the webhook provisioning: the outcome is recorded and
 * returned. Removed at disconnect (`removeSidebarApp`).
 */
export const SIDEBAR_APP_NAME = 'Helpdesk Copilot';

export interface SidebarAppDeps {
  db: Db;
  api: ZendeskResources;
  tenantId: string;
  connectionId: string;
  /** The app package (zip bytes) for this deployment's PUBLIC_URL; absent where it cannot be built. */
  appPackage?: (() => Uint8Array | Promise<Uint8Array>) | undefined;
  /** Writes one audit event in the tenant's trail. */
  record: (
    action: string,
    outcome: 'success' | 'failure',
    target: string | null,
    detail?: Record<string, unknown>,
  ) => Promise<unknown>;
  /** Polling of the app build job (default 15 polls, 1 s apart). */
  jobPolls?: number;
  jobPollMs?: number;
}

export type SidebarAppResult =
  | { status: 'installed'; appId: string; installationId: string; created: string[]; reused: string[] }
  | { status: 'plan_refused' | 'failed'; detail: string };

/** The sentence the checklist shows when the plan refuses private apps. */
export const MANUAL_UPLOAD_HINT =
  'Your Zendesk plan does not allow private apps to be created through the API. Upload dist/zendesk-app.zip (npm run zendesk-app:package) in Admin Center > Apps and integrations > Zendesk Support apps > Upload private app, then install it.';

class PlanRefused extends Error {}

function refusedByPlan(e: unknown): boolean {
  return e instanceof ZendeskApiError && e.upstreamStatus === 403;
}

export async function provisionSidebarApp(deps: SidebarAppDeps): Promise<SidebarAppResult> {
  const { api, db, tenantId, connectionId } = deps;
  const created: string[] = [];
  const reused: string[] = [];
  const save = (status: 'installed' | 'plan_refused' | 'failed', set: Record<string, string | null>) =>
    withTenant(db, tenantId, (tx) =>
      tx
        .insert(sidebarAppProvisioning)
        .values({ tenantId, connectionId, status, ...set, updatedAt: new Date() })
        .onConflictDoUpdate({
          target: [sidebarAppProvisioning.tenantId, sidebarAppProvisioning.connectionId],
          set: { status, ...set, updatedAt: new Date() },
        }),
    );
  const step = async <T>(call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (e) {
      if (refusedByPlan(e)) throw new PlanRefused(describeError(e));
      throw e;
    }
  };
  try {
    const stored = await withTenant(db, tenantId, (tx) =>
      tx
        .select()
        .from(sidebarInstallations)
        .where(
          and(
            eq(sidebarInstallations.connectionId, connectionId),
            eq(sidebarInstallations.origin, 'provisioned'),
            eq(sidebarInstallations.status, 'active'),
          ),
        ),
    );
    // 1. The stored installation, if Zendesk still has it.
    for (const row of stored) {
      try {
        const inst = await api.getAppInstallation(row.installationId);
        reused.push('app', 'installation');
        await save('installed', { appId: inst.appId, installationId: inst.id, detail: null });
        return { status: 'installed', appId: inst.appId, installationId: inst.id, created, reused };
      } catch (e) {
        if (!isZendeskNotFound(e)) throw e;
        await markRemoved(db, tenantId, row.installationId);
      }
    }
    // 2. The app: ours by exact name among the owned apps, else upload and build it. Without a
    // package (a deployment that cannot build one) nothing is called: the admin uploads it by hand.
    if (!deps.appPackage) {
      const detail = 'The sidebar app package cannot be built in this deployment; upload it by hand.';
      await save('failed', { detail });
      await deps.record('zendesk.sidebar_app.provisioned', 'failure', null, { reason: 'no_package' });
      return { status: 'failed', detail };
    }
    const appPackage = deps.appPackage;
    let appId = (await step(() => api.listOwnedApps())).find((a) => a.name === SIDEBAR_APP_NAME)?.id;
    if (appId) reused.push('app');
    else {
      const zip = await appPackage();
      const { uploadId } = await step(() => api.uploadAppPackage(zip, 'helpdesk-copilot.zip'));
      const { jobId } = await step(() =>
        api.createApp({
          name: SIDEBAR_APP_NAME,
          shortDescription: 'Drafts with context, approved in the ticket sidebar.',
          uploadId,
        }),
      );
      appId = await waitForBuild(deps, jobId);
      created.push('app');
      await deps.record('zendesk.sidebar_app.created', 'success', appId);
    }
    // 3. Its installation: ours by app id, else install it.
    let installationId = (await step(() => api.listAppInstallations())).find((i) => i.appId === appId)?.id;
    if (installationId) reused.push('installation');
    else {
      const app = appId;
      installationId = (
        await step(() => api.installApp({ appId: app, settings: { name: SIDEBAR_APP_NAME } }))
      ).id;
      created.push('installation');
      await deps.record('zendesk.sidebar_app.installed', 'success', installationId, { appId });
    }
    const inst = installationId;
    await withTenant(db, tenantId, (tx) =>
      tx
        .insert(sidebarInstallations)
        .values({
          tenantId,
          installationId: inst,
          appId: appId!,
          connectionId,
          origin: 'provisioned',
          status: 'active',
        })
        .onConflictDoUpdate({
          target: [sidebarInstallations.tenantId, sidebarInstallations.installationId],
          set: { appId: appId!, connectionId, status: 'active', updatedAt: new Date() },
        }),
    );
    await save('installed', { appId: appId!, installationId: inst, detail: null });
    await deps.record('zendesk.sidebar_app.provisioned', 'success', inst, { appId, created, reused });
    return { status: 'installed', appId: appId!, installationId: inst, created, reused };
  } catch (e) {
    if (e instanceof PlanRefused) {
      await save('plan_refused', { detail: MANUAL_UPLOAD_HINT });
      await deps.record('zendesk.sidebar_app.plan_refused', 'failure', null, { error: e.message, created });
      return { status: 'plan_refused', detail: MANUAL_UPLOAD_HINT };
    }
    const detail = `Installing the sidebar app failed: ${describeError(e)}`;
    await save('failed', { detail });
    await deps.record('zendesk.sidebar_app.provisioned', 'failure', null, {
      error: describeError(e),
      created,
      reused,
    });
    return { status: 'failed', detail };
  }
}

async function waitForBuild(deps: SidebarAppDeps, jobId: string): Promise<string> {
  const polls = deps.jobPolls ?? 15;
  for (let i = 0; i < polls; i++) {
    const job = await deps.api.getAppJobStatus(jobId);
    if (job.status === 'completed' && job.appId) return job.appId;
    if (job.status === 'failed' || job.status === 'killed')
      throw new Error(`Zendesk could not build the app: ${job.message ?? job.status}`);
    await new Promise((r) => setTimeout(r, deps.jobPollMs ?? 1000));
  }
  throw new Error(`Zendesk did not finish building the app after ${polls} checks`);
}

async function markRemoved(db: Db, tenantId: string, installationId: string) {
  await withTenant(db, tenantId, (tx) =>
    tx
      .update(sidebarInstallations)
      .set({ status: 'removed', updatedAt: new Date() })
      .where(eq(sidebarInstallations.installationId, installationId)),
  );
}

/**
 * Disconnect: uninstalls and deletes the app we provisioned (already gone counts as done); an app
 * an admin uploaded by hand (`manual`) is left in Zendesk. Every installation of the connection
 * stops admitting tokens (status `removed`). `canCall` false: nothing is called in Zendesk.
 */
export async function removeSidebarApp(
  deps: Omit<SidebarAppDeps, 'appPackage'>,
  canCall: boolean,
): Promise<{ removed: string[]; failed: string[] }> {
  const { db, tenantId, connectionId, api } = deps;
  const rows = await withTenant(db, tenantId, (tx) =>
    tx
      .select()
      .from(sidebarInstallations)
      .where(
        and(eq(sidebarInstallations.connectionId, connectionId), eq(sidebarInstallations.status, 'active')),
      ),
  );
  const removed: string[] = [];
  const failed: string[] = [];
  const attempt = async (what: string, action: string, target: string, call: () => Promise<unknown>) => {
    try {
      await call();
      removed.push(what);
      await deps.record(action, 'success', target);
    } catch (e) {
      if (isZendeskNotFound(e)) {
        removed.push(what);
        await deps.record(action, 'success', target, { alreadyGone: true });
        return;
      }
      failed.push(what);
      await deps.record(action, 'failure', target, { error: describeError(e) });
    }
  };
  for (const row of rows.filter((r) => r.origin === 'provisioned')) {
    if (!canCall) {
      failed.push('sidebar_app');
      continue;
    }
    await attempt('sidebar_installation', 'zendesk.sidebar_app.uninstalled', row.installationId, () =>
      api.uninstallApp(row.installationId),
    );
    await attempt('sidebar_app', 'zendesk.sidebar_app.deleted', row.appId, () => api.deleteApp(row.appId));
  }
  await withTenant(db, tenantId, async (tx) => {
    await tx
      .update(sidebarInstallations)
      .set({ status: 'removed', updatedAt: new Date() })
      .where(eq(sidebarInstallations.connectionId, connectionId));
    await tx
      .update(sidebarAppProvisioning)
      .set({ status: 'removed', detail: failed.length ? `left in Zendesk: ${failed.join(', ')}` : null })
      .where(eq(sidebarAppProvisioning.connectionId, connectionId));
  });
  return { removed, failed };
}
