import type { Context } from 'hono';
import type { Tx } from '../db/client.ts';
import { lockTenantDocument } from '../db/document-lock.ts';
import { withTenant } from '../db/tenant.ts';
import { fromBase64Url, toBase64Url } from '../lib/ids.ts';
import type { Vault } from '../tenancy/vault.ts';
import type { AppEnv } from './types.ts';
import { CONSOLE_NAV, messageBody } from './views/admin.ts';
import { sendPage } from './views/layout.ts';

/**
 * The confirmation step of the console's imports (catalog, directory). A preview seals what it
 * validated, the fingerprint of the stored document it was compared with, who previewed it and
 * when it expires, with the tenant's vault key (AES-256-GCM, the tenant and purpose as associated
 * data: it opens for this tenant and this kind only, and cannot be edited). The confirm form
 * carries it back in a hidden field; the confirmation applies exactly the sealed document, and
 * only while the stored one still has the sealed fingerprint. The JSON is gzipped before it is
 * sealed: directories and catalogs compress several times over, so the confirm form of an upload
 * near the 1 MB body limit still fits under it (text that does not compress, near the limit,
 * would not: base64 adds a third).
 */
export const PREVIEW_TTL_MS = 30 * 60_000;

export interface SealedPreview<T> {
  doc: T;
  /** Fingerprint of the stored catalog / directory the preview was compared with. */
  base: string;
  userId: string;
  expiresAt: number;
}

const purpose = (kind: 'catalog' | 'directory') => `console_${kind}_preview`;

export function sealPreview<T>(
  vault: Vault,
  tenantId: string,
  kind: 'catalog' | 'directory',
  p: SealedPreview<T>,
): Promise<string> {
  return gzip(JSON.stringify(p)).then((z) => vault.seal(tenantId, purpose(kind), toBase64Url(z)));
}

async function gzip(text: string): Promise<Uint8Array> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
async function gunzip(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  return new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'))).text();
}

/** The sealed preview, or why not: `invalid` (tampered, another tenant's, not one) or `expired`. */
export async function openPreview<T>(
  vault: Vault,
  tenantId: string,
  kind: 'catalog' | 'directory',
  token: string,
  now: Date,
): Promise<{ ok: true; preview: SealedPreview<T> } | { ok: false; why: 'invalid' | 'expired' }> {
  if (!token || token.length > 4_000_000) return { ok: false, why: 'invalid' };
  let p: SealedPreview<T>;
  try {
    p = JSON.parse(
      await gunzip(fromBase64Url(await vault.open(tenantId, purpose(kind), token))),
    ) as SealedPreview<T>;
  } catch {
    return { ok: false, why: 'invalid' };
  }
  if (typeof p.expiresAt !== 'number' || p.expiresAt < now.getTime()) return { ok: false, why: 'expired' };
  return { ok: true, preview: p };
}

export { lockTenantDocument } from '../db/document-lock.ts';

export interface ConfirmSpec<T> {
  kind: 'catalog' | 'directory';
  /** What the admin saw: 'preview' (catalog) or 'report' (directory). */
  noun: string;
  /** Where to start again. */
  again: { href: string; label: string };
  /** The sentence when the stored document changed since the preview. */
  changed: string;
  /** Applies `doc` in the tenant's transaction with its document lock held; false when the stored one is no longer `base`. */
  apply(tx: Tx, doc: T, base: string): Promise<boolean>;
}

/**
 * The confirmation of a sealed preview, shared by the catalog import and the directory upload:
 * opens the hidden field's preview (400 when it is expired, tampered or another tenant's), then in
 * one transaction takes the tenant's lock on the document and applies it only while the stored
 * one still has the previewed fingerprint (409 otherwise). Null when it was applied.
 */
export async function confirmPreview<T>(
  c: Context<AppEnv>,
  tenantId: string,
  token: string,
  spec: ConfirmSpec<T>,
): Promise<Response | null> {
  const refuse = (status: 400 | 409, sentence: string) =>
    sendPage(
      c,
      {
        title: spec.kind === 'catalog' ? 'Catalog' : 'Directory',
        nav: CONSOLE_NAV,
        children: messageBody([sentence], [spec.again]),
      },
      { status },
    );
  const deps = c.get('deps');
  const opened = await openPreview<T>(deps.vault, tenantId, spec.kind, token, deps.now?.() ?? new Date());
  if (!opened.ok)
    return refuse(
      400,
      opened.why === 'expired'
        ? `This ${spec.noun} has expired. Nothing was applied.`
        : `This is not a ${spec.noun} of this tenant. Nothing was applied.`,
    );
  const { doc, base } = opened.preview;
  const applied = await withTenant(deps.database.db, tenantId, async (tx) => {
    await lockTenantDocument(tx, tenantId, spec.kind);
    return spec.apply(tx, doc, base);
  });
  return applied ? null : refuse(409, spec.changed);
}
