import { createHmac, timingSafeEqual } from 'node:crypto';

/** Slack's replay window: a request whose timestamp is more than 5 minutes away from now is refused. */
export const SLACK_MAX_SKEW_SECONDS = 300;

export type SlackVerifyFailure = 'invalid_signature' | 'stale_request';

export type SlackVerifyResult = { ok: true } | { ok: false; reason: SlackVerifyFailure; message: string };

/**
 * Verifies a request signed by Slack (events, interactivity, slash commands):
 * `X-Slack-Signature = v0=hex(HMAC-SHA256(signingSecret, "v0:" + timestamp + ":" + rawBody))`.
 *
 * - `rawBody` must be the bytes as received: never re-serialized JSON (P-S6).
 * - The timestamp must be within 300 s of `now` in either direction (the Python SDK's rule;
 *   Bolt JS only checks the past).
 * - Only version `v0` is accepted; an empty signing secret verifies nothing.
 * - The comparison is constant-time over equal-length byte strings.
 */
export async function verifySlackSignature(input: {
  signingSecret: string;
  rawBody: Uint8Array | string;
  signature: string | undefined | null;
  timestamp: string | undefined | null;
  now: Date;
}): Promise<SlackVerifyResult> {
  const fail = (reason: SlackVerifyFailure, message: string): SlackVerifyResult => ({
    ok: false,
    reason,
    message,
  });
  if (!input.signingSecret) return fail('invalid_signature', 'No signing secret is configured.');
  const { signature, timestamp } = input;
  if (!signature || !timestamp) {
    return fail('invalid_signature', 'X-Slack-Signature and X-Slack-Request-Timestamp are required.');
  }
  if (!/^\d{1,12}$/.test(timestamp)) return fail('invalid_signature', 'The request timestamp is malformed.');
  const skew = Math.abs(Math.floor(input.now.getTime() / 1000) - Number(timestamp));
  if (skew > SLACK_MAX_SKEW_SECONDS) {
    return fail('stale_request', 'The request timestamp is more than 5 minutes from our clock.');
  }
  const m = /^v0=([0-9a-f]{64})$/.exec(signature);
  if (!m) return fail('invalid_signature', 'Only v0 signatures are accepted.');
  // node:crypto (Node, and Workers with nodejs_compat): one synchronous HMAC, no Web Crypto key
  // import per request (that import and the async sign were a third of this route's CPU).
  const expected = createHmac('sha256', input.signingSecret)
    .update(`v0:${timestamp}:`)
    .update(input.rawBody)
    .digest();
  const given = Buffer.from(m[1]!, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return fail('invalid_signature', 'The request signature does not match.');
  }
  return { ok: true };
}

/**
 * Slack's slash-command health probe: a form body whose `ssl_check` field is exactly `1`.
 * It is answered 200 without verification and NOTHING else in that body is used (P-S7: an older
 * Bolt receiver processed a smuggled `payload` from such a body, allowing unsigned events).
 */
export function isSslCheck(contentType: string | undefined, rawBody: string): boolean {
  if (!contentType?.toLowerCase().startsWith('application/x-www-form-urlencoded')) return false;
  const values = new URLSearchParams(rawBody).getAll('ssl_check');
  return values.length === 1 && values[0] === '1';
}
