import type { Context } from 'hono';
import { Hono } from 'hono';
import { html } from 'hono/html';
import { audit } from '../audit/audit.ts';
import { withTenant } from '../db/tenant.ts';
import { jsonValueLines, nulLine, parseUploadedJson } from '../lib/json-lines.ts';
import {
  checkDirectory,
  type Directory,
  type DirectoryIssue,
  directoryFingerprint,
  directoryFromCsv,
  previewDirectory,
  storedSharedDomains,
} from '../pipeline/directory-import.ts';
import { syncDirectory } from '../pipeline/tenant-config.ts';
import { readDirectoryPage } from '../pipeline/tenant-config-read.ts';
import { requireAdminPage } from './auth.ts';
import { confirmPreview, PREVIEW_TTL_MS, sealPreview } from './console-preview.ts';
import { requireSameOriginPosts } from './middleware.ts';
import type { AppEnv } from './types.ts';
import { CONSOLE_NAV } from './views/admin.ts';
import {
  directoryBody,
  issuesReport,
  reportBody,
  type UploadFormState,
  uploadForm,
} from './views/directory.ts';
import { type Html, sendPage } from './views/layout.ts';

/**
 * The console's directory (owners and admins): `GET /admin/directory` pages through the accounts
 * (50 a page, by id, `after=` the last id) with their domains, people and end-user counts, and
 * flags domains two accounts list. `POST /admin/directory/upload` validates a JSON or CSV upload
 * (directory-import.ts) and reports rows that fail with their line numbers, the accounts and end
 * users it would add, change and remove, and every domain two accounts would claim; nothing is
 * written until `POST /admin/directory/upload/confirm` brings back the sealed report
 * (console-preview.ts), which syncs exactly that document (syncDirectory, audited) and only while
 * the directory is as it was when checked.
 */
const TITLE = 'Directory';
const PAGE = 50;

type Page = { title?: string; children: Html; status?: 200 | 400 | 403 | 409 };
const page = (c: Context<AppEnv>, p: Page) =>
  sendPage(
    c,
    { title: p.title ?? TITLE, nav: CONSOLE_NAV, children: p.children },
    { status: p.status ?? 200 },
  );
const str = (v: unknown) => (typeof v === 'string' ? v : '');

export function adminDirectoryRoutes() {
  const app = new Hono<AppEnv>();
  app.use('/admin/directory/*', requireSameOriginPosts);
  app.use('/admin/directory/*', requireAdminPage(TITLE, 'see and change the directory'));
  const db = (c: Context<AppEnv>) => c.get('deps').database.db;
  const principal = (c: Context<AppEnv>) => c.get('principal')!;

  async function overview(
    c: Context<AppEnv>,
    after: string | undefined,
    notice: string | null,
    form: UploadFormState,
    status: 200 | 400 = 200,
  ) {
    const { list, shared } = await withTenant(db(c), principal(c).tenantId, async (tx) => ({
      list: await readDirectoryPage(tx, { after, limit: PAGE }),
      shared: await storedSharedDomains(tx),
    }));
    const rows = list.accounts.map((a) => ({
      id: a.id,
      name: a.name,
      plan: a.plan,
      domains: a.domains,
      users: a.users.length,
      endUsers: list.endUserCounts[a.id] ?? 0,
    }));
    return page(c, {
      children: directoryBody({ rows, shared, nextCursor: list.nextCursor, first: !after, notice, form }),
      status,
    });
  }

  app.get('/admin/directory', (c) => {
    const after = c.req.query('after');
    const cursor = after && after.length <= 200 ? after : undefined;
    return overview(c, cursor, c.req.query('applied') === '1' ? 'The upload was applied.' : null, {
      mode: 'upsert',
      text: '',
      error: null,
    });
  });

  app.post('/admin/directory/upload', async (c) => {
    const body = await c.req.parseBody();
    const mode = str(body.mode) === 'replace' ? 'replace' : 'upsert';
    const file = body.file;
    const fromFile = file instanceof File && file.size > 0;
    const text = fromFile ? await file.text() : str(body.document);
    const form: UploadFormState = { mode, text: fromFile ? '' : text, error: null };
    if (!text.trim())
      return overview(c, undefined, null, { ...form, error: 'Choose a file or paste the directory.' }, 400);
    const isJson = text.trimStart().startsWith('{');
    const invalid = (issues: DirectoryIssue[]) =>
      page(c, {
        title: 'Directory upload: not valid',
        children: html`${issuesReport(issues)}${uploadForm(form)}`,
        status: 400,
      });
    const nul = nulLine(text);
    if (nul !== null)
      return invalid([{ line: nul, message: 'contains a NUL character, which cannot be stored' }]);
    let checked: ReturnType<typeof checkDirectory>;
    if (isJson) {
      const parsed = parseUploadedJson(text);
      if (!parsed.ok)
        return invalid([{ ...(parsed.line ? { line: parsed.line } : {}), message: parsed.message }]);
      const twice: { path: string; line: number }[] = [];
      const lines = jsonValueLines(text, 6, twice);
      if (twice.length)
        return invalid(
          twice.map((d) => ({ line: d.line, path: d.path, message: 'given twice (only one can be kept)' })),
        );
      checked = checkDirectory(parsed.value, lines);
    } else {
      const csv = directoryFromCsv(text, mode);
      if (!csv.ok) return invalid(csv.issues);
      checked = checkDirectory(csv.doc, csv.lines);
    }
    if (!checked.ok) return invalid(checked.issues);
    const directory = checked.directory;
    const p = principal(c);
    const { report, base } = await withTenant(db(c), p.tenantId, async (tx) => ({
      report: await previewDirectory(tx, directory),
      base: await directoryFingerprint(tx),
    }));
    const now = c.get('deps').now?.() ?? new Date();
    const token = await sealPreview(c.get('deps').vault, p.tenantId, 'directory', {
      doc: directory,
      base,
      userId: p.userId,
      expiresAt: now.getTime() + PREVIEW_TTL_MS,
    });
    const source = `${isJson ? 'JSON' : 'CSV'}: ${directory.accounts.length} account${directory.accounts.length === 1 ? '' : 's'}`;
    return page(c, { title: 'Directory upload: report', children: reportBody(report, token, source) });
  });

  app.post('/admin/directory/upload/confirm', async (c) => {
    const body = await c.req.parseBody();
    const p = principal(c);
    const refused = await confirmPreview<Directory>(c, p.tenantId, str(body.preview), {
      kind: 'directory',
      noun: 'report',
      again: { href: '/admin/directory#h-upload', label: 'Upload again' },
      changed:
        'The directory changed since this report (another upload or the API). Nothing was applied: upload again to check it against the directory as it is now.',
      async apply(tx, doc, base) {
        if ((await directoryFingerprint(tx)) !== base) return false;
        const ctx = {
          tenantId: p.tenantId,
          tx,
          actor: { type: 'admin' as const, userId: p.userId, via: p.via },
          requestId: c.get('requestId'),
        };
        const report = await previewDirectory(tx, doc);
        await syncDirectory(ctx, doc);
        await audit(ctx, {
          action: 'directory.upload_confirmed',
          target: p.tenantId,
          outcome: 'success',
          detail: {
            mode: report.mode,
            added: report.accounts.added.length,
            changed: report.accounts.changed.length,
            removed: report.accounts.removed.length,
            sharedDomains: report.sharedDomains.map((s) => s.domain).slice(0, 50),
          },
        });
        return true;
      },
    });
    if (refused) return refused;
    return c.redirect('/admin/directory?applied=1', 303);
  });
  return app;
}
