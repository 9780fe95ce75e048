/**
 * Releases a response body we do not need by reading it (bounded), instead of `body.cancel()`.
 * Cancelling an msw-intercepted response stream corrupts Node 24's OpenSSL error queue so that
 * the next AES-GCM operation aborts the process (`crypto_cipher.h errors->Empty()`), which took
 * down test workers; reading small error bodies to the end is harmless everywhere. Bodies larger
 * than `maxBytes` are cancelled once that much was read.
 */
export async function discardBody(res: Response, maxBytes = 64 * 1024): Promise<void> {
  const body = res.body;
  if (!body || res.bodyUsed) return;
  const reader = body.getReader();
  let read = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      read += value.byteLength;
      if (read > maxBytes) {
        await reader.cancel();
        return;
      }
    }
  } catch {
    // The connection failed while we discarded the body: nothing left to release.
  }
}

/**
 * Reads a byte stream to the end, unless it grows past `maxBytes`: then stops reading, calls
 * `onOverflow` (e.g. the request's abort) or cancels the stream, and returns null.
 */
export async function readStreamCapped(
  stream: ReadableStream<Uint8Array>,
  maxBytes: number,
  onOverflow?: () => void,
): Promise<Uint8Array<ArrayBuffer> | null> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      if (onOverflow) onOverflow();
      else void reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  const buf = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    buf.set(c, off);
    off += c.byteLength;
  }
  return buf;
}
