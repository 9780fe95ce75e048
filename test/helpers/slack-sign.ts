import { createHmac } from 'node:crypto';

/**
 * Signs a body the way Slack does (computed here with node:crypto, independently of
 * src/slack/verify.ts): v0=hex(HMAC-SHA256(secret, "v0:" + ts + ":" + body)).
 */
export function slackSignature(secret: string, timestamp: number | string, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

/** A signed Slack POST (JSON by default). `timestamp` in Unix seconds. */
export function signedSlackRequest(
  secret: string,
  body: string,
  timestamp: number,
  extra: { contentType?: string; headers?: Record<string, string> } = {},
): RequestInit {
  return {
    method: 'POST',
    body,
    headers: {
      'content-type': extra.contentType ?? 'application/json',
      'x-slack-request-timestamp': String(timestamp),
      'x-slack-signature': slackSignature(secret, timestamp, body),
      ...extra.headers,
    },
  };
}

/** An Events API envelope for a workspace install of team `teamId`. */
export function eventEnvelope(
  teamId: string,
  event: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    token: 'legacy-verification-token-unused',
    team_id: teamId,
    api_app_id: 'A0APP',
    event: { event_ts: '1700000000.000100', ...event },
    type: 'event_callback',
    event_id: `Ev${Math.random().toString(36).slice(2, 12).toUpperCase()}`,
    event_time: 1_700_000_000,
    authorizations: [
      { enterprise_id: null, team_id: teamId, user_id: 'UBOT', is_bot: true, is_enterprise_install: false },
    ],
    ...extra,
  };
}
