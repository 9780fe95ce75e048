import type { Context } from 'hono';
import { Hono } from 'hono';
import { withTenant } from '../db/tenant.ts';
import { describeError } from '../lib/errors.ts';
import { slackWebFor } from '../slack/ask.ts';
import {
  channelLinks,
  linkChannel,
  unlinkChannel,
  type WorkspaceChannel,
  workspaceChannels,
} from '../slack/channel-links.ts';
import { isAdmin, type Principal } from '../tenancy/principal.ts';
import { requireSameOriginPosts } from './middleware.ts';
import { interactionDeps } from './slack-interactions.ts';
import type { AppEnv } from './types.ts';
import { CONSOLE_NAV, messageBody } from './views/admin.ts';
import { sendPage } from './views/layout.ts';
import { type ChannelsView, channelsBody } from './views/slack-channels.ts';

/**
 * The console's Slack channel links: `GET /admin/slack/channels` (any signed-in member sees the
 * links; owners and admins change them), `POST /admin/slack/channels/link` and `.../unlink`
 * (same-origin form posts, see adminRoutes). The channel picker lists the workspace's channels
 * read from Slack at runtime; when Slack cannot be asked, a channel id field stands in. The
 * verbs are the `/copilot link` command's (src/slack/channel-links.ts), audited alike.
 */
const NAV = CONSOLE_NAV;

const TITLE = 'Slack channels';

function signedOut(c: Context<AppEnv>) {
  if (c.get('sessionRefused') === 'tenant_inactive')
    return sendPage(
      c,
      {
        title: TITLE,
        nav: NAV,
        children: messageBody(["This tenant's deletion was requested: nothing can be changed."]),
      },
      { status: 403 },
    );
  return c.redirect('/admin', 303);
}

async function channelsOf(
  c: Context<AppEnv>,
  tenantId: string,
): Promise<{ channels: WorkspaceChannel[] | null; error: string | null }> {
  const deps = interactionDeps(c);
  if (deps instanceof Response)
    return { channels: null, error: 'Slack is not configured on this server, so channels cannot be listed.' };
  try {
    const web = await slackWebFor(deps, tenantId);
    return { channels: await workspaceChannels(web), error: null };
  } catch (e) {
    c.get('log').warn('slack channel list failed', { tenantId, error: describeError(e) });
    return {
      channels: null,
      error:
        'The channel list could not be read from Slack (is the app installed in the workspace?): enter a channel id instead.',
    };
  }
}

async function render(
  c: Context<AppEnv>,
  p: Principal,
  extra: { notice?: string | null; form?: ChannelsView['form'] } = {},
  status: 200 | 400 = 200,
) {
  const { database } = c.get('deps');
  const [{ links, triageChannel }, list] = await Promise.all([
    withTenant(database.db, p.tenantId, (tx) => channelLinks(tx)),
    channelsOf(c, p.tenantId),
  ]);
  return sendPage(
    c,
    {
      title: TITLE,
      nav: NAV,
      children: channelsBody({
        links,
        triageChannel,
        channels: list.channels,
        channelsError: list.error,
        admin: isAdmin(p),
        notice: extra.notice ?? null,
        form: extra.form ?? { channel: '', account: '', errors: {} },
      }),
    },
    { status },
  );
}

const onlyAdmins = (c: Context<AppEnv>) =>
  sendPage(
    c,
    { title: TITLE, nav: NAV, children: messageBody(['Only owners and admins can change channel links.']) },
    { status: 403 },
  );

const adminActor = (p: Principal) => ({ type: 'admin' as const, userId: p.userId, via: p.via });

async function formOf(c: Context<AppEnv>): Promise<{ channel: string; account: string }> {
  const body = await c.req.parseBody();
  const str = (v: unknown) => (typeof v === 'string' ? v.trim().slice(0, 500) : '');
  return { channel: str(body.channel), account: str(body.account) };
}

export function adminSlackRoutes() {
  const app = new Hono<AppEnv>();
  app.use('/admin/slack/*', requireSameOriginPosts);

  app.get('/admin/slack/channels', async (c) => {
    const p = c.get('principal');
    if (!p) return signedOut(c);
    // Only a channel id is echoed back: the notice cannot be made to say anything else.
    const idOf = (v: string | undefined) => (v && /^[CG][A-Z0-9]{2,30}$/.test(v) ? v : null);
    const linked = idOf(c.req.query('linked'));
    const unlinked = idOf(c.req.query('unlinked'));
    const notice = linked
      ? `Channel ${linked} is linked.`
      : unlinked
        ? `Channel ${unlinked} is no longer linked.`
        : null;
    return render(c, p, { notice });
  });

  app.post('/admin/slack/channels/link', async (c) => {
    const p = c.get('principal');
    if (!p) return signedOut(c);
    if (!isAdmin(p)) return onlyAdmins(c);
    const form = await formOf(c);
    const out = await withTenant(c.get('deps').database.db, p.tenantId, (tx) =>
      linkChannel(
        { tenantId: p.tenantId, tx, actor: adminActor(p), requestId: c.get('requestId') },
        form.channel,
        form.account,
      ),
    );
    if (!out.ok)
      return render(
        c,
        p,
        {
          form: {
            ...form,
            errors: out.code === 'invalid_channel' ? { channel: out.message } : { account: out.message },
          },
        },
        400,
      );
    return c.redirect(`/admin/slack/channels?linked=${encodeURIComponent(form.channel)}`, 303);
  });

  app.post('/admin/slack/channels/unlink', async (c) => {
    const p = c.get('principal');
    if (!p) return signedOut(c);
    if (!isAdmin(p)) return onlyAdmins(c);
    const { channel } = await formOf(c);
    const removed = await withTenant(c.get('deps').database.db, p.tenantId, (tx) =>
      unlinkChannel(
        { tenantId: p.tenantId, tx, actor: adminActor(p), requestId: c.get('requestId') },
        channel,
      ),
    );
    if (!removed) return render(c, p, { notice: `Channel ${channel} was not linked; nothing changed.` }, 400);
    return c.redirect(`/admin/slack/channels?unlinked=${encodeURIComponent(channel)}`, 303);
  });

  return app;
}
