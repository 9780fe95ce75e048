const enc = new TextEncoder();

export function utf8(s: string): Uint8Array<ArrayBuffer> {
  return enc.encode(s);
}

/**
 * Constant-time comparison of two byte strings. Length is not secret here (signatures and
 * MACs have a fixed length), so unequal lengths return false at once; equal lengths are
 * compared without an early exit.
 */
export function timingSafeEqualBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

export function timingSafeEqualString(a: string, b: string): boolean {
  return timingSafeEqualBytes(utf8(a), utf8(b));
}

async function hmacKey(secret: string | Uint8Array): Promise<CryptoKey> {
  const raw = typeof secret === 'string' ? utf8(secret) : secret;
  return crypto.subtle.importKey('raw', raw as BufferSource, { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
  ]);
}

/** HMAC-SHA256 over `data` (string parts are UTF-8; byte parts are used as they are). */
export async function hmacSha256(
  secret: string | Uint8Array,
  ...parts: (string | Uint8Array)[]
): Promise<Uint8Array> {
  const key = await hmacKey(secret);
  const chunks = parts.map((p) => (typeof p === 'string' ? utf8(p) : p));
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const buf = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    buf.set(c, off);
    off += c.length;
  }
  return new Uint8Array(await crypto.subtle.sign('HMAC', key, buf));
}

export async function sha256Hex(data: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', utf8(data) as BufferSource);
  return Buffer.from(digest).toString('hex');
}
