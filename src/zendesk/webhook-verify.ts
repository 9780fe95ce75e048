import { createHmac, timingSafeEqual } from 'node:crypto';
import { hmacSha256, timingSafeEqualBytes } from '../lib/crypto.ts';

/**
 * Zendesk webhook signatures (facts sheet 2.3, P-Z1): `X-Zendesk-Webhook-Signature` is
 * base64(HMAC-SHA256(key = the webhook's signing secret, message = timestamp header + raw body)),
 * with no separator, over the body bytes exactly as received (never re-serialized JSON).
 * `X-Zendesk-Webhook-Signature-Timestamp` is ISO-8601 (`2021-03-25T05:09:27Z`); Zendesk does not
 * enforce freshness, so we do: a valid signature on an old request is a replay.
 */
export const ZENDESK_SIGNATURE_HEADER = 'x-zendesk-webhook-signature';
export const ZENDESK_TIMESTAMP_HEADER = 'x-zendesk-webhook-signature-timestamp';
export const ZENDESK_INVOCATION_HEADER = 'x-zendesk-webhook-invocation-id';

/** Requests signed more than this far from our clock, in either direction, are refused. */
export const ZENDESK_MAX_SKEW_MS = 5 * 60_000;

/** base64 of 32 bytes: 43 characters and one `=`. */
const SIGNATURE_SHAPE = /^[A-Za-z0-9+/]{43}=$/;

/** base64(HMAC-SHA256(secret, timestamp + body)). Also used by tests and benchmarks to sign. */
export async function signZendeskWebhook(
  secret: string,
  timestamp: string,
  body: Uint8Array | string,
): Promise<string> {
  return Buffer.from(await hmacSha256(secret, timestamp, body)).toString('base64');
}

/** Constant-time check of a signature header against the raw body bytes. */
export async function verifyZendeskSignature(input: {
  secret: string;
  timestamp: string;
  body: Uint8Array;
  signature: string;
}): Promise<boolean> {
  const given = input.signature.trim();
  if (!SIGNATURE_SHAPE.test(given)) return false;
  const expected = await hmacSha256(input.secret, input.timestamp, input.body);
  return timingSafeEqualBytes(expected, new Uint8Array(Buffer.from(given, 'base64')));
}

/**
 * The same check, synchronous, for the hot path: node:crypto's HMAC (Node, and Workers with
 * nodejs_compat) instead of a Web Crypto key import and an async sign per request.
 */
export function verifyZendeskSignatureSync(input: {
  secret: string;
  timestamp: string;
  body: Uint8Array;
  signature: string;
}): boolean {
  const given = input.signature.trim();
  if (!SIGNATURE_SHAPE.test(given)) return false;
  const expected = createHmac('sha256', input.secret).update(input.timestamp).update(input.body).digest();
  const got = Buffer.from(given, 'base64');
  return got.length === expected.length && timingSafeEqual(expected, got);
}

/**
 * Whether the timestamp header is a parseable ISO-8601 instant within `maxSkewMs` of `now`.
 * Only full date-times are accepted (a bare date or a number is not what Zendesk sends).
 */
export function isFreshTimestamp(timestamp: string, now: Date, maxSkewMs = ZENDESK_MAX_SKEW_MS): boolean {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/.test(timestamp))
    return false;
  const t = Date.parse(timestamp);
  return Number.isFinite(t) && Math.abs(now.getTime() - t) <= maxSkewMs;
}
