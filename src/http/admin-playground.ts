import type { Context } from 'hono';
import { Hono } from 'hono';
import { html } from 'hono/html';
import { withTenant } from '../db/tenant.ts';
import {
  type PlaygroundInput,
  type PlaygroundResult,
  playgroundInputSchema,
  runPlayground,
} from '../pipeline/playground.ts';
import { readPipelineSettings } from '../pipeline/settings.ts';
import { isAdmin, type Principal } from '../tenancy/principal.ts';
import { requireSameOriginPosts } from './middleware.ts';
import type { AppEnv } from './types.ts';
import { CONSOLE_NAV, messageBody } from './views/admin.ts';
import { factsList, guardSection, providerTable } from './views/drafts.ts';
import { type Html, sendPage } from './views/layout.ts';

/**
 * The console's playground (`/admin/playground`, owners and admins: a run can spend model
 * tokens): a typed ticket (subject, body, requester email, brand) goes through routing, the
 * tenant's context providers without Zendesk, the tenant's drafter within its quota and the leak
 * guard (src/pipeline/playground.ts), and the page shows each step. Nothing is sent, queued or
 * stored but the audit event `playground.run`. Same-origin form posts only.
 */
const TITLE = 'Playground';
const FIELDS = ['subject', 'body', 'email', 'brand'] as const;
type Field = (typeof FIELDS)[number];
type FormValues = Record<Field, string>;
const EMPTY: FormValues = { subject: '', body: '', email: '', brand: '' };

const onlyAdmins = (c: Context<AppEnv>) =>
  sendPage(
    c,
    {
      title: TITLE,
      nav: CONSOLE_NAV,
      children: messageBody(['Only owners and admins can use the playground: a run can spend model tokens.']),
    },
    { status: 403 },
  );

function formBody(v: FormValues, errors: Partial<Record<Field, string>>, brands: string[]): Html {
  const described = (f: Field) => (errors[f] ? `${f}-hint ${f}-error` : `${f}-hint`);
  const invalid = (f: Field): Html | '' => (errors[f] ? html` aria-invalid="true"` : '');
  const err = (f: Field): Html | '' =>
    errors[f] ? html`<p class="error" id="${f}-error" role="alert">${errors[f]}</p>` : '';
  return html`<p>Try a ticket without touching Zendesk: the route, the context, the draft and the leak guard's verdict, exactly as the pipeline would make them. Nothing is sent, queued or stored.</p>
<form method="post" action="/admin/playground" class="stack" novalidate>
<label for="subject">Subject</label>
<input id="subject" name="subject" size="40" value="${v.subject}" aria-describedby="${described('subject')}"${invalid('subject')}>
<small id="subject-hint">Optional.</small>
${err('subject')}
<label for="body">Message</label>
<textarea id="body" name="body" rows="6" cols="60" aria-describedby="${described('body')}"${invalid('body')}>${v.body}</textarea>
<small id="body-hint">What the requester wrote.</small>
${err('body')}
<label for="email">Requester email</label>
<input id="email" name="email" type="email" size="40" value="${v.email}" autocomplete="off" aria-describedby="${described('email')}"${invalid('email')}>
<small id="email-hint">Routing looks it up in your directory (the exact email, then its domain). Empty: an unknown requester.</small>
${err('email')}
<label for="brand">Brand</label>
<input id="brand" name="brand" size="40" value="${v.brand}" list="brands" aria-describedby="${described('brand')}"${invalid('brand')}>
<datalist id="brands">${brands.map((b) => html`<option value="${b}"></option>`)}</datalist>
<small id="brand-hint">${brands.length ? `Brands your routing maps to an account: ${brands.join(', ')}.` : 'Your routing maps no brand to an account.'}</small>
${err('brand')}
<button type="submit">Run</button>
</form>`;
}

function resultBody(r: PlaygroundResult): Html {
  const { route, context, draft, guard, quota } = r;
  const q = quota.reached;
  return html`<section aria-labelledby="result"><h2 id="result">Result</h2>
<h3>Route</h3>
<p><strong>${route.level.replace('_', ' ')}</strong> (${route.reason.replace(/_/g, ' ')})${route.accountId ? html`, account <code>${route.accountId}</code>` : ''}${route.endUserEmail ? html`, end user ${route.endUserEmail}` : ''}.</p>
<h3>Context</h3>
<p>Loaded in ${context.elapsedMs} ms${context.missing.length ? html`; missing: ${context.missing.map((m, i) => html`${i ? ', ' : ''}${m.source} (${m.reason})`)}` : ''}.</p>
${providerTable(context.providers ?? null, context.facts, context.missing, html`<tr><td>zendesk</td><td>-</td><td>0</td><td>not loaded in the playground (no Zendesk calls)</td></tr>`)}
${factsList(context.facts, new Set(draft.citedFactIds))}
<h3>Draft</h3>
<p>Drafter: <strong>${draft.drafter}</strong>${draft.model ? ` (${draft.model})` : ''}${r.drafter !== draft.drafter ? html` <small>instead of ${r.drafter}</small>` : ''}; confidence ${draft.confidence}${draft.playbookKey ? html`; playbook <code>${draft.playbookKey}</code>` : ''}${draft.usage ? html`; ${draft.usage.promptTokens + draft.usage.completionTokens} model tokens` : ''}.</p>
<p>Quota: ${q ? html`<strong>reached</strong>: the tenant's ${q.label}, so the offline drafter wrote this draft.` : quota.limits && Object.keys(quota.limits).length ? 'within the limits' : 'no limits set'}${quota.usage ? html` <small>(${quota.usage.draftsToday} drafts today, ${quota.usage.modelTokensThisMonth} model tokens this month)</small>` : ''}.</p>
${draft.needsHumanReason ? html`<p class="notice">Needs a human: ${draft.needsHumanReason}</p>` : ''}
<p class="text" id="draft-text">${guard.body}</p>
<p>Cites: ${draft.citedFactIds.length ? draft.citedFactIds.map((id, i) => html`${i ? ', ' : ''}<code>${id}</code>`) : 'nothing'}.</p>
<h3>Leak guard</h3>
${guardSection(guard.verdict)}
</section>`;
}

async function render(
  c: Context<AppEnv>,
  p: Principal,
  v: FormValues,
  extra: { errors?: Partial<Record<Field, string>>; result?: PlaygroundResult; status?: 200 | 400 } = {},
) {
  const settings = await withTenant(c.get('deps').database.db, p.tenantId, (tx) => readPipelineSettings(tx));
  const children = html`${formBody(v, extra.errors ?? {}, Object.keys(settings.routing.brands))}
${extra.result ? resultBody(extra.result) : ''}`;
  return sendPage(c, { title: TITLE, nav: CONSOLE_NAV, children }, { status: extra.status ?? 200 });
}

export function adminPlaygroundRoutes() {
  const app = new Hono<AppEnv>();
  app.use('/admin/playground', requireSameOriginPosts);

  app.get('/admin/playground', async (c) => {
    const p = c.get('principal');
    if (!p) return c.redirect('/admin', 303);
    if (!isAdmin(p)) return onlyAdmins(c);
    return render(c, p, EMPTY);
  });

  app.post('/admin/playground', async (c) => {
    const p = c.get('principal');
    if (!p) return c.redirect('/admin', 303);
    if (!isAdmin(p)) return onlyAdmins(c);
    const form = await c.req.parseBody();
    const values = Object.fromEntries(
      FIELDS.map((f) => [f, typeof form[f] === 'string' ? (form[f] as string).slice(0, 20_000) : '']),
    ) as FormValues;
    const parsed = playgroundInputSchema.safeParse(values);
    if (!parsed.success) {
      const errors: Partial<Record<Field, string>> = {};
      for (const i of parsed.error.issues) {
        const f = i.path[0] as Field;
        errors[f] ??= i.message;
      }
      return render(c, p, values, { errors, status: 400 });
    }
    const deps = c.get('deps');
    if (!deps.drafter)
      return sendPage(
        c,
        {
          title: TITLE,
          nav: CONSOLE_NAV,
          children: messageBody(['Drafting is not running in this deployment.']),
        },
        { status: 503 },
      );
    const input: PlaygroundInput = parsed.data;
    const result = await runPlayground(
      {
        database: deps.database,
        vault: deps.vault,
        drafter: deps.drafter,
        allowPrivateContextApi: deps.config.CONTEXT_API_ALLOW_PRIVATE,
        ...(deps.contextApiResolver ? { resolver: deps.contextApiResolver } : {}),
        ...(deps.contextFetch ? { contextFetch: deps.contextFetch } : {}),
        ...(deps.now ? { now: deps.now } : {}),
      },
      {
        tenantId: p.tenantId,
        actor: { type: 'admin', userId: p.userId, via: p.via },
        requestId: c.get('requestId'),
      },
      input,
    );
    return render(c, p, values, { result });
  });
  return app;
}
