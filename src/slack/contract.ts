/**
 * What the code uses of Slack, in one place, so `manifest.json` can be checked against it
 * (test/integration/slack-manifest.test.ts): the events listened to, the command, the action and
 * view ids, the Web API methods called and the scopes each needs.
 */
export const SLACK_EVENTS = {
  /** Bolt listeners (src/slack/listeners.ts). */
  questions: ['app_mention', 'message.im'],
  /** Our own route handlers (src/http/slack-events.ts). */
  lifecycle: ['app_uninstalled', 'tokens_revoked'],
} as const;

export const COPILOT_COMMAND = '/copilot';

/** Global shortcuts (manifest `features.shortcuts`), handled in src/slack/interactions.ts. */
export const SLACK_SHORTCUTS = {
  linkChannel: 'copilot_link_channel',
} as const;

/** Scopes for the events above (Slack's event reference). */
export const EVENT_SCOPES: Record<string, readonly string[]> = {
  app_mention: ['app_mentions:read'],
  'message.im': ['im:history'],
  app_uninstalled: [],
  tokens_revoked: [],
};

/** Every Web API method the code calls with the bot token, and the scopes it needs. */
export const METHOD_SCOPES: Record<string, readonly string[]> = {
  'assistant.threads.setStatus': ['assistant:write'],
  'assistant.threads.setSuggestedPrompts': ['assistant:write'],
  'conversations.info': ['channels:read', 'groups:read'],
  'conversations.list': ['channels:read', 'groups:read'],
  'chat.postMessage': ['chat:write'],
  'chat.postEphemeral': ['chat:write'],
  'chat.update': ['chat:write'],
  'chat.startStream': ['chat:write'],
  'chat.appendStream': ['chat:write'],
  'chat.stopStream': ['chat:write'],
  'users.info': ['users:read', 'users:read.email'],
  'views.open': [],
};

/** A slash command needs the `commands` scope. */
export const COMMAND_SCOPES = ['commands'] as const;

/** Request paths Slack calls (the manifest's URLs end with these). */
export const SLACK_REQUEST_PATHS = {
  events: '/slack/events',
  interactions: '/slack/interactions',
  commands: '/slack/commands',
} as const;
