/**
 * The sidebar's Zendesk app package: the zip zcli would upload, built from zendesk-app/ with the
 * sidebar's location URL set to `PUBLIC_URL/zendesk/sidebar` (`npm run zendesk-app:package`
 * writes it to a file; provisioning uploads it through the Apps API). zcli's own validation
 * uploads to Zendesk (`api/v2/apps/validate`), so `checkZendeskApp` applies the rules Zendesk
 * applies (zendesk_apps_support; facts sheet §2.7) locally: required manifest fields, an https
 * location, the translation keys, asset sizes, no symlinks.
 */
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { crc32 } from 'node:zlib';
import { z } from 'zod';

/**
 * The manifest fields the checks read, parsed at the boundary (an untrusted file); every other
 * field is kept as it is.
 */
const manifestSchema = z.looseObject({
  author: z.looseObject({ name: z.string().optional(), email: z.string().optional() }).optional(),
  defaultLocale: z.string().optional(),
  frameworkVersion: z.unknown(),
  private: z.unknown(),
  signedUrls: z.unknown(),
  location: z
    .looseObject({
      support: z
        .looseObject({ ticket_sidebar: z.looseObject({ url: z.string().optional() }).optional() })
        .optional(),
    })
    .optional(),
});
type Manifest = z.infer<typeof manifestSchema>;

function readManifest(dir: string): Manifest {
  const parsed = manifestSchema.safeParse(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')));
  if (!parsed.success)
    throw new Error(
      `manifest.json: ${parsed.error.issues[0]!.path.join('.')}: ${parsed.error.issues[0]!.message}`,
    );
  return parsed.data;
}

export const APP_DIR = new URL('../../zendesk-app/', import.meta.url).pathname;

/** Width and height of a PNG, from its IHDR chunk. */
export function pngSize(bytes: Uint8Array): { width: number; height: number } | null {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length < 24 || sig.some((b, i) => bytes[i] !== b)) return null;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: v.getUint32(16), height: v.getUint32(20) };
}

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    const st = lstatSync(p);
    if (st.isSymbolicLink()) throw new Error(`${relative(APP_DIR, p)}: symlinks are refused by Zendesk`);
    if (st.isDirectory()) out.push(...files(p));
    else out.push(p);
  }
  return out;
}

/** Problems Zendesk would report for the app in `dir` (empty when none). */
export function checkZendeskApp(dir = APP_DIR, manifestOverride?: Manifest): string[] {
  const problems: string[] = [];
  let all: string[] = [];
  try {
    all = files(dir).map((p) => relative(dir, p));
  } catch (e) {
    return [(e as Error).message];
  }
  let m: Manifest;
  try {
    m = manifestOverride ?? readManifest(dir);
  } catch (e) {
    return [(e as Error).message];
  }
  if (!m.author?.name || !m.author?.email)
    problems.push('manifest: author.name and author.email are required');
  if (!m.defaultLocale) problems.push('manifest: defaultLocale is required');
  if (m.frameworkVersion !== '2.0') problems.push('manifest: frameworkVersion must be "2.0"');
  const loc = m.location?.support?.ticket_sidebar;
  if (!loc?.url) problems.push('manifest: location.support.ticket_sidebar.url is required');
  else {
    const url = String(loc.url);
    const ok =
      url.startsWith('https://') ||
      /^http:\/\/localhost(:\d+)?\//.test(url) ||
      url.startsWith('{{setting.') ||
      all.includes(url);
    if (!ok)
      problems.push(
        `manifest: location url must be https, localhost, an assets/ path or a setting (got ${url})`,
      );
  }
  if (m.signedUrls !== true)
    problems.push('manifest: signedUrls must be true (the server verifies the signed token)');
  const tPath = `translations/${m.defaultLocale}.json`;
  if (!all.includes(tPath)) problems.push(`${tPath} is missing`);
  else {
    const t = JSON.parse(readFileSync(join(dir, tPath), 'utf8')) as { app?: Record<string, unknown> };
    const keys = m.private
      ? ['name']
      : ['name', 'short_description', 'long_description', 'installation_instructions'];
    for (const k of keys)
      if (typeof t.app?.[k] !== 'string' || !t.app[k]) problems.push(`${tPath}: app.${k} is required`);
  }
  for (const [asset, size] of [
    ['assets/logo.png', 320],
    ['assets/logo-small.png', 128],
  ] as const) {
    if (!all.includes(asset)) {
      problems.push(`${asset} is missing`);
      continue;
    }
    const s = pngSize(readFileSync(join(dir, asset)));
    if (!s || s.width !== size || s.height !== size) problems.push(`${asset} must be a ${size}x${size} PNG`);
  }
  return problems;
}

/** A stored (uncompressed) zip of `entries`; enough for Zendesk's uploader and `unzip`. */
export function zip(entries: { name: string; data: Uint8Array }[]): Uint8Array {
  const local: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const crc = crc32(e.data) >>> 0;
    const h = Buffer.alloc(30);
    h.writeUInt32LE(0x04034b50, 0);
    h.writeUInt16LE(20, 4);
    h.writeUInt16LE(0x0800, 6); // UTF-8 names
    h.writeUInt16LE(0, 8); // stored
    h.writeUInt16LE(0, 10); // time
    h.writeUInt16LE(0x21, 12); // 1980-01-01
    h.writeUInt32LE(crc, 14);
    h.writeUInt32LE(e.data.length, 18);
    h.writeUInt32LE(e.data.length, 22);
    h.writeUInt16LE(name.length, 26);
    h.writeUInt16LE(0, 28);
    local.push(h, name, Buffer.from(e.data));
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(20, 4);
    c.writeUInt16LE(20, 6);
    c.writeUInt16LE(0x0800, 8);
    c.writeUInt16LE(0, 10);
    c.writeUInt16LE(0, 12);
    c.writeUInt16LE(0x21, 14);
    c.writeUInt32LE(crc, 16);
    c.writeUInt32LE(e.data.length, 20);
    c.writeUInt32LE(e.data.length, 24);
    c.writeUInt16LE(name.length, 28);
    c.writeUInt32LE(offset, 42);
    central.push(c, name);
    offset += 30 + name.length + e.data.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return new Uint8Array(Buffer.concat([...local, cd, end]));
}

/** The app package with the location URL at `publicUrl`; throws with every problem found. */
export function buildZendeskAppZip(publicUrl: string, dir = APP_DIR): Uint8Array {
  const base = publicUrl.replace(/\/+$/, '');
  if (!/^https:\/\//.test(base) && !/^http:\/\/localhost(:\d+)?$/.test(base))
    throw new Error(`PUBLIC_URL must be https (Zendesk loads the sidebar over https); got ${publicUrl}`);
  const read = readManifest(dir);
  const sidebar = read.location?.support?.ticket_sidebar;
  const manifest: Manifest = {
    ...read,
    author: { ...read.author, url: base },
    ...(sidebar
      ? {
          location: {
            ...read.location,
            support: {
              ...read.location?.support,
              ticket_sidebar: { ...sidebar, url: `${base}/zendesk/sidebar` },
            },
          },
        }
      : {}),
  };
  const problems = checkZendeskApp(dir, manifest);
  if (problems.length) throw new Error(`zendesk-app is not valid:\n  - ${problems.join('\n  - ')}`);
  const entries = files(dir).map((p) => {
    const name = relative(dir, p);
    const data =
      name === 'manifest.json' ? Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`) : readFileSync(p);
    return { name, data: new Uint8Array(data) };
  });
  return zip(entries);
}
