import { count, eq } from 'drizzle-orm';
import type { Config } from '../config.ts';
import type { Tx } from '../db/client.ts';
import {
  accounts,
  drafts,
  sidebarInstallations,
  slackInstallations,
  zendeskConnections,
} from '../db/schema/index.ts';
import { readContextApi } from '../pipeline/tenant-config-read.ts';
import type { OnboardingStep } from './views/onboarding.ts';

/**
 * The onboarding checklist's steps for the signed-in tenant, read in its transaction: connect
 * Slack and Zendesk, Zendesk provisioning (webhook and triggers), the sidebar app, the Context
 * API (optional), the account directory, the first draft.
 */
export async function onboardingSteps(tx: Tx, config: Config): Promise<OnboardingStep[]> {
  const [slack] = await tx
    .select({
      status: slackInstallations.status,
      team: slackInstallations.teamName,
      id: slackInstallations.teamId,
    })
    .from(slackInstallations)
    .limit(1);
  const [zd] = await tx
    .select({
      status: zendeskConnections.status,
      detail: zendeskConnections.statusDetail,
      subdomain: zendeskConnections.subdomain,
      webhook: zendeskConnections.zendeskWebhookId,
      provisionedAt: zendeskConnections.provisionedAt,
    })
    .from(zendeskConnections)
    .where(eq(zendeskConnections.status, 'active'))
    .limit(1);
  const [sidebar] = await tx
    .select({ origin: sidebarInstallations.origin })
    .from(sidebarInstallations)
    .where(eq(sidebarInstallations.status, 'active'))
    .limit(1);
  const contextApi = await readContextApi(tx);
  const [{ n: accountCount } = { n: 0 }] = await tx.select({ n: count() }).from(accounts);
  // Whether any draft exists, not how many: the page must not count a large tenant's drafts.
  const [anyDraft] = await tx.select({ id: drafts.id }).from(drafts).limit(1);

  const steps: OnboardingStep[] = [];
  steps.push(
    slack?.status === 'active'
      ? {
          title: 'Connect Slack',
          state: 'done',
          detail: `Installed in ${slack.team ?? slack.id ?? 'your workspace'}.`,
        }
      : config.features.slackInstall
        ? {
            title: 'Connect Slack',
            state: slack ? 'attention' : 'todo',
            detail: slack
              ? `The Slack installation is ${slack.status}: install the app again.`
              : 'Install the app in your Slack workspace so reps can ask it and drafts reach channels.',
            action: {
              kind: 'link',
              href: '/slack/install',
              label: slack ? 'Reinstall in Slack' : 'Add to Slack',
            },
          }
        : {
            title: 'Connect Slack',
            state: 'unavailable',
            detail: 'This server has no Slack app configured (SLACK_CLIENT_ID and SLACK_CLIENT_SECRET).',
          },
  );
  steps.push(
    zd
      ? { title: 'Connect Zendesk', state: 'done', detail: `Connected to ${zd.subdomain}.zendesk.com.` }
      : config.features.zendesk
        ? {
            title: 'Connect Zendesk',
            state: 'todo',
            detail:
              'Connect your Zendesk account: tickets then get drafts, and agents approve them in the sidebar.',
            action: { kind: 'link', href: '/zendesk/connect', label: 'Connect Zendesk' },
          }
        : {
            title: 'Connect Zendesk',
            state: 'unavailable',
            detail:
              'This server has no Zendesk OAuth client configured (ZENDESK_CLIENT_ID and ZENDESK_CLIENT_SECRET).',
          },
  );
  if (zd) {
    steps.push(
      zd.webhook && zd.provisionedAt
        ? {
            title: 'Zendesk webhook and triggers',
            state: 'done',
            detail: `Provisioned ${zd.provisionedAt.toISOString().slice(0, 10)}: new and updated tickets reach Helpdesk Copilot.`,
          }
        : {
            title: 'Zendesk webhook and triggers',
            state: 'attention',
            detail: `Not provisioned yet${zd.detail ? ` (${zd.detail})` : ''}: tickets do not reach Helpdesk Copilot.`,
            action: { kind: 'post', action: '/zendesk/provision', label: 'Provision again' },
          },
    );
    steps.push(
      sidebar
        ? {
            title: 'Zendesk sidebar app',
            state: 'done',
            detail: sidebar.origin === 'manual' ? 'Installed (uploaded by hand).' : 'Installed.',
          }
        : {
            title: 'Zendesk sidebar app',
            state: 'todo',
            detail:
              'Agents approve drafts in the ticket sidebar. It installs itself when this server has an https PUBLIC_URL; otherwise upload the package that npm run zendesk-app:package builds, under Apps and integrations, Zendesk Support apps, Upload private app.',
          },
    );
  }
  steps.push(
    contextApi.settings && contextApi.secretSet
      ? {
          title: 'Context API',
          state: 'done',
          detail: `Drafts load live account facts from ${new URL(contextApi.settings.url).host}.`,
        }
      : {
          title: 'Context API',
          state: 'optional',
          detail: 'Optional: let drafts load live facts (plan, integrations, records) from your own API.',
          action: { kind: 'link', href: '/admin/settings#context-api', label: 'Set up the Context API' },
        },
  );
  steps.push(
    Number(accountCount) > 0
      ? {
          title: 'Account directory',
          state: 'done',
          detail: `${accountCount} accounts: tickets route by their emails and domains.`,
        }
      : {
          title: 'Account directory',
          state: 'todo',
          detail:
            'Upload your customer accounts (ids, names, domains, users) so tickets route to the right account.',
          action: { kind: 'link', href: '/admin/directory', label: 'Upload the directory' },
        },
  );
  steps.push(
    anyDraft
      ? {
          title: 'First draft',
          state: 'done',
          detail: 'Drafts are being made.',
          action: { kind: 'link', href: '/admin/drafts', label: 'See the drafts' },
        }
      : {
          title: 'First draft',
          state: 'todo',
          detail:
            zd && slack?.status === 'active'
              ? 'Create or update a ticket in Zendesk, or mention the app in a Slack channel: its draft follows.'
              : zd
                ? 'Create or update a ticket in Zendesk: a draft is ready in its sidebar moments later.'
                : slack?.status === 'active'
                  ? 'Mention the app in a Slack channel, or write to it in its messages tab: it answers with a draft.'
                  : 'Drafts start once Zendesk or Slack is connected.',
        },
  );
  return steps;
}
