/** Prefixed random identifiers: `tn_` tenant, `dr_` draft, ... 128 bits of randomness, URL-safe. */
export function newId(prefix: string): string {
  return `${prefix}_${randomToken(16)}`;
}

/** `bytes` random bytes as base64url (no padding). */
export function randomToken(bytes = 32): string {
  const buf = new Uint8Array(bytes);
  crypto.getRandomValues(buf);
  return toBase64Url(buf);
}

export function toBase64Url(buf: Uint8Array): string {
  return Buffer.from(buf).toString('base64url');
}

export function fromBase64Url(s: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(Buffer.from(s, 'base64url'));
}

/** Tenant ids are the only ids that reach `set_config`; their shape is checked everywhere they enter. */
export const TENANT_ID_PATTERN = /^tn_[A-Za-z0-9_-]{16,64}$/;

export function isTenantId(s: unknown): s is string {
  return typeof s === 'string' && TENANT_ID_PATTERN.test(s);
}
