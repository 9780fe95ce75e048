/**
 * Block Kit builders for drafts, their status line, the account select menu and the edit modal.
 * Action ids are the contract with src/slack/interactions.ts (and the manifest test).
 */
export const ACTIONS = {
  send: 'draft_send',
  edit: 'draft_edit',
  regenerate: 'draft_regenerate',
  reject: 'draft_reject',
  accountSelect: 'account_select',
} as const;
export const EDIT_VIEW_CALLBACK = 'draft_edit_modal';

type Block = Record<string, unknown>;

export interface Citation {
  id: string;
  source: string;
  key: string;
}

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
/** Slack mrkdwn control characters in text we did not write. */
export const escapeMrkdwn = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function citationLine(citations: Citation[]): string {
  if (citations.length === 0) return 'No sources cited.';
  return `Sources: ${citations.map((c) => `\`${escapeMrkdwn(c.id)}\` (${escapeMrkdwn(c.source)})`).join(', ')}`;
}

export function draftActions(draftId: string, opts: { ticketId: string | null }): Block {
  const button = (action_id: string, text: string, style?: 'primary' | 'danger') => ({
    type: 'button',
    action_id,
    text: { type: 'plain_text', text },
    value: draftId,
    ...(style ? { style } : {}),
  });
  return {
    type: 'actions',
    block_id: `draft:${draftId}`,
    elements: [
      ...(opts.ticketId ? [button(ACTIONS.send, `Send to ticket #${opts.ticketId}`, 'primary')] : []),
      button(ACTIONS.edit, 'Edit'),
      button(ACTIONS.regenerate, 'Regenerate'),
      button(ACTIONS.reject, 'Reject', 'danger'),
    ],
  };
}

export interface DraftView {
  draftId: string;
  body: string;
  citations: Citation[];
  ticketId: string | null;
  /** One line on what the draft is about: account and how it was found, or why none. */
  about: string;
  status: 'pending' | 'blocked';
}

/** The draft's content blocks (no buttons): body, sources, what it is about. */
export function draftContentBlocks(d: DraftView): Block[] {
  return [
    { type: 'section', text: { type: 'mrkdwn', text: clip(escapeMrkdwn(d.body), 2900) } },
    { type: 'context', elements: [{ type: 'mrkdwn', text: clip(citationLine(d.citations), 2900) }] },
    {
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: clip(
            `${escapeMrkdwn(d.about)}${d.status === 'blocked' ? ' · Held back by the leak guard: review before sending.' : ''} · Draft only: nothing was sent.`,
            2900,
          ),
        },
      ],
    },
  ];
}

export function draftBlocks(d: DraftView): Block[] {
  return [...draftContentBlocks(d), draftActions(d.draftId, { ticketId: d.ticketId })];
}

/** The status line that replaces the buttons once a human acted. */
export function statusBlock(
  verb: 'Sent to ticket' | 'Rejected',
  by: string,
  at: Date,
  ticketId?: string | null,
) {
  const epoch = Math.floor(at.getTime() / 1000);
  const what = verb === 'Sent to ticket' && ticketId ? `Sent to ticket #${ticketId}` : verb;
  return {
    type: 'context',
    elements: [
      {
        type: 'mrkdwn',
        text: `${what} by <@${by}> <!date^${epoch}^{date_short_pretty} {time}|${at.toISOString()}>`,
      },
    ],
  };
}

export function accountSelectBlocks(eventId: string, candidates: { id: string; name: string }[]): Block[] {
  return [
    {
      type: 'section',
      block_id: `acct:${eventId}`,
      text: { type: 'mrkdwn', text: 'Several accounts match. Which one do you mean?' },
      accessory: {
        type: 'static_select',
        action_id: ACTIONS.accountSelect,
        placeholder: { type: 'plain_text', text: 'Choose an account' },
        options: candidates.slice(0, 100).map((c) => ({
          text: { type: 'plain_text', text: clip(`${c.name} (${c.id})`, 75) },
          value: c.id,
        })),
      },
    },
  ];
}

export function editModal(meta: { draftId: string; channel: string; ts: string }, body: string) {
  return {
    type: 'modal',
    callback_id: EDIT_VIEW_CALLBACK,
    private_metadata: JSON.stringify(meta),
    title: { type: 'plain_text', text: 'Edit draft' },
    submit: { type: 'plain_text', text: 'Save' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      {
        type: 'input',
        block_id: 'body',
        label: { type: 'plain_text', text: 'Reply' },
        element: {
          type: 'plain_text_input',
          action_id: 'body',
          multiline: true,
          initial_value: clip(body, 3000),
          max_length: 3000,
        },
      },
    ],
  };
}

/** Callback id of the "Link this channel" modal (opened by the global shortcut). */
export const LINK_VIEW_CALLBACK = 'copilot_link_modal';

/** The shortcut's modal: a channel (the current one by default) and the account it is about. */
export function linkModal() {
  return {
    type: 'modal',
    callback_id: LINK_VIEW_CALLBACK,
    title: { type: 'plain_text', text: 'Link a channel' },
    submit: { type: 'plain_text', text: 'Link' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      {
        type: 'input',
        block_id: 'channel',
        label: { type: 'plain_text', text: 'Channel' },
        element: {
          type: 'conversations_select',
          action_id: 'channel',
          default_to_current_conversation: true,
          filter: { include: ['public', 'private'] },
        },
      },
      {
        type: 'input',
        block_id: 'account',
        label: { type: 'plain_text', text: 'Account' },
        hint: {
          type: 'plain_text',
          text: 'Its account id, an email address or a domain: it must match exactly one account.',
        },
        element: { type: 'plain_text_input', action_id: 'account', max_length: 200 },
      },
    ],
  };
}

/** A modal with one message and a Close button (the shortcut's refusals and its confirmation). */
export function noticeModal(title: string, text: string) {
  return {
    type: 'modal',
    title: { type: 'plain_text', text: clip(title, 24) },
    close: { type: 'plain_text', text: 'Close' },
    blocks: [{ type: 'section', text: { type: 'mrkdwn', text: clip(text, 3000) } }],
  };
}
