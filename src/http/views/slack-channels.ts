import { html } from 'hono/html';
import type { ChannelLink, WorkspaceChannel } from '../../slack/channel-links.ts';
import type { Html } from './layout.ts';

/** The console's Slack channel links page body. Every value is escaped by `html`. */
export interface ChannelsView {
  links: ChannelLink[];
  triageChannel: string | null;
  /** The workspace's channels, or null when Slack could not be asked (then a channel id field). */
  channels: WorkspaceChannel[] | null;
  /** Why the channel list is missing, for the admin. */
  channelsError: string | null;
  admin: boolean;
  notice: string | null;
  /** The link form's values and field errors after a refused submission. */
  form: { channel: string; account: string; errors: { channel?: string; account?: string } };
}

function channelLabel(v: ChannelsView, id: string): Html {
  const c = v.channels?.find((x) => x.id === id);
  return c ? html`${c.isPrivate ? '🔒' : '#'}${c.name} <code>${id}</code>` : html`<code>${id}</code>`;
}

function linkForm(v: ChannelsView): Html {
  const e = v.form.errors;
  const channelField = v.channels
    ? html`<select id="link-channel" name="channel" required aria-describedby="${e.channel ? 'link-channel-error' : ''}">
<option value="">Choose a channel</option>
${v.channels.map(
  (c) =>
    html`<option value="${c.id}"${c.id === v.form.channel ? ' selected' : ''}>${c.isPrivate ? '🔒 ' : '#'}${c.name}</option>`,
)}</select>`
    : html`<input id="link-channel" name="channel" value="${v.form.channel}" required pattern="[CG][A-Z0-9]{2,30}" placeholder="C0123ABCD" aria-describedby="link-channel-hint${e.channel ? ' link-channel-error' : ''}">
<small id="link-channel-hint">The channel's id (in Slack: channel details, at the bottom).</small>`;
  return html`<form method="post" action="/admin/slack/channels/link" class="stack">
<h2>Link a channel</h2>
<p>Questions in a linked channel are about its account, and the account's new ticket drafts are posted there.</p>
<label for="link-channel">Channel</label>
${channelField}
${e.channel ? html`<p class="error" id="link-channel-error" role="alert">${e.channel}</p>` : ''}
<label for="link-account">Account</label>
<input id="link-account" name="account" value="${v.form.account}" required maxlength="200" autocomplete="off" aria-describedby="link-account-hint${e.account ? ' link-account-error' : ''}">
<small id="link-account-hint">Its account id, an email address or a domain: it must match exactly one account.</small>
${e.account ? html`<p class="error" id="link-account-error" role="alert">${e.account}</p>` : ''}
<button type="submit">Link channel</button>
</form>`;
}

export function channelsBody(v: ChannelsView): Html {
  return html`${v.notice ? html`<p class="notice" role="status">${v.notice}</p>` : ''}
${v.channelsError ? html`<p class="muted">${v.channelsError}</p>` : ''}
<h2>Linked channels</h2>
${
  v.links.length
    ? html`<table><caption class="visually-hidden">Channels linked to accounts</caption>
<tr><th scope="col">channel</th><th scope="col">account</th>${v.admin ? html`<th scope="col"><span class="visually-hidden">actions</span></th>` : ''}</tr>
${v.links.map(
  (l) =>
    html`<tr><td>${channelLabel(v, l.channel)}</td><td>${l.accountName ?? html`<em>not in the directory</em>`} <code>${l.accountId}</code></td>${
      v.admin
        ? html`<td><form method="post" action="/admin/slack/channels/unlink"><input type="hidden" name="channel" value="${l.channel}"><button type="submit" aria-label="Unlink ${l.channel}">Unlink</button></form></td>`
        : ''
    }</tr>`,
)}</table>`
    : html`<p>No channel is linked yet. ${v.admin ? html`Link one below, or type <code>/copilot link &lt;account&gt;</code> in the channel.` : 'An admin can link one.'}</p>`
}
<p>Triage channel for Slack Connect drafts: ${v.triageChannel ? channelLabel(v, v.triageChannel) : html`none (set it with <code>/copilot triage</code> in that channel)`}</p>
${v.admin ? linkForm(v) : html`<p class="muted">Only owners and admins can change links.</p>`}`;
}
