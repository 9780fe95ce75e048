import type { Context } from 'hono';
import { Hono } from 'hono';
import { z } from 'zod';
import { playbooks } from '../db/schema/index.ts';
import { withTenant } from '../db/tenant.ts';
import { isAppError } from '../lib/errors.ts';
import { contextApiProbeInputSchema, probeContextApi } from '../pipeline/context/context-api-probe.ts';
import { hasTenantModelKey } from '../pipeline/drafting/tenant-model.ts';
import { readPipelineSettings } from '../pipeline/settings.ts';
import { contextApiInputSchema, setContextApi, updateSettings } from '../pipeline/tenant-config.ts';
import { readContextApi } from '../pipeline/tenant-config-read.ts';
import type { ServiceCtx } from '../tenancy/context.ts';
import { isAdmin, type Principal } from '../tenancy/principal.ts';
import { listRoutingChoices } from '../zendesk/routing-choices.ts';
import { readSidebarSettings } from '../zendesk/sidebar-settings.ts';
import { tokensOf } from './install-routes.ts';
import { requireSameOriginPosts } from './middleware.ts';
import type { AppEnv } from './types.ts';
import { CONSOLE_NAV, messageBody } from './views/admin.ts';
import { sendPage } from './views/layout.ts';
import {
  type FailedForm,
  type FieldError,
  type Section,
  type SettingsView,
  settingsBody,
} from './views/settings.ts';

/**
 * The console's settings page (owners and admins): `GET /admin/settings` shows the tenant's
 * routing, drafting, context and Context API settings; each form's same-origin `POST` goes
 * through the configuration API's own verbs and zod schemas (`updateSettings`, `setContextApi`:
 * the same validation, the same audit events), so a value the API refuses is refused here, with
 * the error beside its field and nothing changed. `POST /admin/settings/context-api/test` sends
 * the Context API test request (context-api-probe.ts) and shows it with the answer.
 */
const TITLE = 'Settings';
const SECTIONS: Record<string, { section: Section; label: string }> = {
  routing: { section: 'routing', label: 'Routing' },
  drafting: { section: 'drafting', label: 'Drafting' },
  context: { section: 'context', label: 'Context' },
  'context-api': { section: 'contextApi', label: 'Context API' },
};

/** A form value that is not a whole number, caught before the schema (which wants numbers). */
class FormFieldError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(message);
    this.field = field;
  }
}

const onlyAdmins = (c: Context<AppEnv>) =>
  sendPage(
    c,
    {
      title: TITLE,
      nav: CONSOLE_NAV,
      children: messageBody(['Only owners and admins can see and change the settings.']),
    },
    { status: 403 },
  );

async function render(
  c: Context<AppEnv>,
  p: Principal,
  extra: Pick<SettingsView, 'form' | 'notice' | 'probe'>,
  status: 200 | 400 | 409 = 200,
) {
  const deps = c.get('deps');
  const db = deps.database.db;
  const [stored, zendesk, sidebar] = await Promise.all([
    withTenant(db, p.tenantId, async (tx) => ({
      settings: await readPipelineSettings(tx),
      contextApi: await readContextApi(tx),
      modelKeySet: await hasTenantModelKey(tx),
      books: await tx
        .select({ key: playbooks.key, autoSend: playbooks.autoSend })
        .from(playbooks)
        .orderBy(playbooks.key),
    })),
    listRoutingChoices({ db, tokens: tokensOf(deps), logger: c.get('log') }, p.tenantId),
    readSidebarSettings(db, p.tenantId),
  ]);
  const view: SettingsView = {
    settings: stored.settings,
    contextApi: stored.contextApi,
    modelKeySet: stored.modelKeySet,
    serverModel: deps.drafter?.name !== 'offline',
    zendesk,
    autoSend: {
      playbooks: stored.books,
      thresholds: new Map(sidebar.scopes.map((s) => [s.scope, s.autoSendThreshold])),
    },
    ...extra,
  };
  return sendPage(c, { title: TITLE, nav: CONSOLE_NAV, children: settingsBody(view) }, { status });
}

const str = (v: unknown, max = 2000) => (typeof v === 'string' ? v.trim().slice(0, max) : '');

function int(values: Record<string, string>, field: string): number | undefined {
  const v = values[field] ?? '';
  if (v === '') return undefined;
  if (!/^\d{1,9}$/.test(v)) throw new FormFieldError(field, 'must be a whole number');
  return Number(v);
}

const list = (v: string | undefined) =>
  (v ?? '')
    .split(/[,\n]/)
    .map((x) => x.trim())
    .filter(Boolean);

/** The form field a schema path names, per section. */
function fieldOf(section: Section, path: PropertyKey[], values: Record<string, string>): string {
  const [a, b, c] = path.map(String);
  if (section === 'routing') {
    if (b === 'orgField') return 'orgField';
    if (b === 'brands' && c !== undefined) {
      for (const [k, v] of Object.entries(values))
        if (k.startsWith('brandName-') && v === c) return `brand-${k.slice('brandName-'.length)}`;
    }
    return 'brands';
  }
  if (section === 'drafting')
    return ['model', 'baseUrl', 'apiKey', 'replyLanguage'].includes(b!) ? b! : 'model';
  if (section === 'context') return b ?? 'deadlineMs';
  if (section === 'test') return a === 'endUserEmail' ? 'testEndUserEmail' : 'testAccountId';
  // contextApi
  if (a === 'keys') return b === 'end_user' ? 'ctxKeysEndUser' : 'ctxKeysAccount';
  const name = a ?? 'url';
  return `ctx${name[0]!.toUpperCase()}${name.slice(1)}`;
}

/** The patch or input a section's form stands for (what the API would be sent). */
function inputOf(section: Section, values: Record<string, string>, current: Record<string, unknown>) {
  if (section === 'routing') {
    const brands: Record<string, string> = {};
    for (const [k, name] of Object.entries(values)) {
      if (!k.startsWith('brandName-') || !name) continue;
      const account = values[`brand-${k.slice('brandName-'.length)}`] ?? '';
      if (account) brands[name] = account;
    }
    const routing = (current.routing ?? {}) as Record<string, unknown>;
    return { routing: { ...routing, orgField: values.orgField ?? '', brands } };
  }
  if (section === 'drafting') {
    const apiKey = values.clearApiKey ? null : values.apiKey ? values.apiKey : undefined;
    return {
      drafting: {
        model: values.model ?? '',
        ...(values.baseUrl ? { baseUrl: values.baseUrl } : {}),
        replyLanguage: values.replyLanguage || 'auto',
        ...(apiKey === undefined ? {} : { apiKey }),
      },
    };
  }
  if (section === 'context') {
    const context: Record<string, number> = {};
    for (const k of ['deadlineMs', 'providerTimeoutMs', 'kbLimit', 'recentTickets']) {
      const n = int(values, k);
      if (n !== undefined) context[k] = n;
    }
    return { context };
  }
  const nums: Record<string, number> = {};
  for (const k of ['attemptTimeoutMs', 'defaultTtlSeconds', 'errorTtlSeconds', 'maxResponseBytes']) {
    const n = int(values, `ctx${k[0]!.toUpperCase()}${k.slice(1)}`);
    if (n !== undefined) nums[k] = n;
  }
  return {
    url: values.ctxUrl ?? '',
    keys: { account: list(values.ctxKeysAccount), end_user: list(values.ctxKeysEndUser) },
    ...nums,
    ...(values.ctxSecret ? { secret: values.ctxSecret } : {}),
  };
}

export function adminSettingsRoutes() {
  const app = new Hono<AppEnv>();
  app.use('/admin/settings/*', requireSameOriginPosts);

  const ctxOf = (c: Context<AppEnv>, p: Principal) => ({
    tenantId: p.tenantId,
    actor: { type: 'admin' as const, userId: p.userId, via: p.via },
    requestId: c.get('requestId'),
  });

  app.get('/admin/settings', async (c) => {
    const p = c.get('principal');
    if (!p) return c.redirect('/admin', 303);
    if (!isAdmin(p)) return onlyAdmins(c);
    const saved = SECTIONS[c.req.query('saved') ?? ''];
    return render(c, p, { form: null, notice: saved ? `${saved.label} saved.` : null, probe: null });
  });

  const save = (slug: string) => async (c: Context<AppEnv>) => {
    const p = c.get('principal');
    if (!p) return c.redirect('/admin', 303);
    if (!isAdmin(p)) return onlyAdmins(c);
    const { section } = SECTIONS[slug]!;
    const body = await c.req.parseBody();
    const values: Record<string, string> = {};
    for (const [k, v] of Object.entries(body)) if (k.length <= 60) values[k] = str(v);
    // Secrets are never sent back into the page.
    const echo = { ...values, apiKey: '', ctxSecret: '' };
    const fail = (error: FieldError) =>
      render(c, p, { form: { section, values: echo, error }, notice: null, probe: null }, 400);
    const deps = c.get('deps');
    const urlPolicy = {
      allowPrivate: deps.config.CONTEXT_API_ALLOW_PRIVATE,
      resolver: deps.contextApiResolver,
    };
    try {
      await withTenant(deps.database.db, p.tenantId, async (tx) => {
        const ctx: ServiceCtx = { ...ctxOf(c, p), tx };
        const input = inputOf(section, values, section === 'routing' ? await readPipelineSettings(tx) : {});
        if (section === 'contextApi') {
          // The API's own schema first (PUT /admin/api/context-api), then its verb.
          const parsed = contextApiInputSchema.parse(input);
          await setContextApi(ctx, deps.vault, parsed, urlPolicy);
        } else {
          await updateSettings(ctx, z.record(z.string(), z.unknown()).parse(input), {
            vault: deps.vault,
            urlPolicy,
          });
        }
      });
    } catch (e) {
      if (e instanceof FormFieldError)
        return fail({ field: e.field, status: 400, code: 'invalid_body', message: e.message });
      if (e instanceof z.ZodError) {
        const i = e.issues[0]!;
        return fail({
          field: fieldOf(section, i.path, values),
          status: 400,
          code: 'invalid_body',
          message: i.message,
        });
      }
      if (isAppError(e) && e.status < 500) {
        const named = typeof e.detail?.field === 'string' ? e.detail.field.split('.') : ['url'];
        return fail({
          field: fieldOf(section, named, values),
          status: e.status,
          code: e.code,
          message: e.message.replace(/^[\w.]+: /, ''),
        });
      }
      throw e;
    }
    return c.redirect(`/admin/settings?saved=${slug}#${slug}`, 303);
  };
  for (const slug of Object.keys(SECTIONS)) app.post(`/admin/settings/${slug}`, save(slug));

  app.post('/admin/settings/context-api/test', async (c) => {
    const p = c.get('principal');
    if (!p) return c.redirect('/admin', 303);
    if (!isAdmin(p)) return onlyAdmins(c);
    const body = await c.req.parseBody();
    const accountId = str(body.testAccountId, 200);
    const endUserEmail = str(body.testEndUserEmail, 320);
    const values = { testAccountId: accountId, testEndUserEmail: endUserEmail };
    const parsed = contextApiProbeInputSchema.safeParse({
      accountId,
      ...(endUserEmail ? { endUserEmail } : {}),
    });
    if (!parsed.success) {
      const i = parsed.error.issues[0]!;
      return render(
        c,
        p,
        {
          form: {
            section: 'test',
            values,
            error: {
              field: fieldOf('test', i.path, values),
              status: 400,
              code: 'invalid_body',
              message: i.message,
            },
          } satisfies FailedForm,
          notice: null,
          probe: null,
        },
        400,
      );
    }
    const deps = c.get('deps');
    try {
      const result = await probeContextApi(
        {
          db: deps.database.db,
          vault: deps.vault,
          now: deps.now ?? (() => new Date()),
          allowPrivate: deps.config.CONTEXT_API_ALLOW_PRIVATE,
          resolver: deps.contextApiResolver,
          fetch: deps.contextFetch,
        },
        ctxOf(c, p),
        parsed.data,
      );
      return render(c, p, { form: null, notice: null, probe: { accountId, endUserEmail, result } });
    } catch (e) {
      if (!isAppError(e) || e.code !== 'conflict') throw e;
      return render(
        c,
        p,
        {
          form: {
            section: 'test',
            values,
            error: { field: 'testAccountId', status: 409, code: e.code, message: e.message },
          },
          notice: null,
          probe: null,
        },
        409,
      );
    }
  });
  return app;
}
