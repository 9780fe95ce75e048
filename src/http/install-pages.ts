import type { Context } from 'hono';
import { html } from 'hono/html';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ERROR_STATUS, type ErrorCode } from '../lib/errors.ts';
import { ZENDESK_SUBDOMAIN } from '../zendesk/api.ts';
import { errorResponse } from './errors.ts';
import type { AppEnv } from './types.ts';
import { type Html, pageCsp, sendPage } from './views/layout.ts';

/**
 * The browser pages of the install and connect flows, in the shared layout (src/http/views/
 * layout.ts: `hono/html`, every interpolated value escaped).
 */

/** A page of plain paragraphs (the end of a flow, success or failure). */
export function htmlPage(
  c: Context<AppEnv>,
  status: ContentfulStatusCode,
  title: string,
  paragraphs: string[],
) {
  return sendPage(
    c,
    {
      title,
      children: html`${paragraphs.map((p) => html`<p>${p}</p>`)}
<p><a href="/admin">Open the admin console</a></p>`,
    },
    { status },
  );
}

function wantsHtml(c: Context<AppEnv>): boolean {
  return (c.req.header('accept') ?? '').includes('text/html');
}

/**
 * A failed browser step: an HTML page for browsers (Accept: text/html), the JSON error body
 * otherwise. Never a stack or an upstream body: only our own message and the error code.
 */
export function failPage(c: Context<AppEnv>, code: ErrorCode, title: string, message: string) {
  if (!wantsHtml(c)) return errorResponse(c, code, message);
  return htmlPage(c, ERROR_STATUS[code] as ContentfulStatusCode, title, [
    message,
    `Error code: ${code}. Request id: ${c.get('requestId') ?? 'unknown'}.`,
  ]);
}

export interface StartPageProps {
  title: string;
  intro: string;
  /** Where the form posts (the same path: POST starts the flow). */
  action: string;
  button: string;
  /** A text field posted with the form (Zendesk: the subdomain). */
  field?: { name: string; label: string; value: string; placeholder: string; pattern: string };
  /** Set when a signed-in admin will connect into their own tenant. */
  joinNote?: string;
}

/**
 * The page at the old GET start URLs (links in docs, the home page, Slack's "Add to Slack"):
 * a button that starts the flow with a same-origin POST. A GET never creates an OAuth state.
 *
 * The CSP is the layout's without `form-action`: browsers apply form-action to the redirects
 * that follow the POST, and ours goes to Slack or to the customer's Zendesk, which may redirect
 * on to the company's single sign-on, whose origin we cannot know.
 */
export async function startPage(c: Context<AppEnv>, props: StartPageProps) {
  const f = props.field;
  const children: Html = html`<p>${props.intro}</p>
${props.joinNote ? html`<p class="muted">${props.joinNote}</p>` : ''}
<form method="post" action="${props.action}">
${f ? html`<p><label>${f.label} <input name="${f.name}" value="${f.value}" placeholder="${f.placeholder}" pattern="${f.pattern}" required autocomplete="off"></label></p>` : ''}
<p><button type="submit">${props.button}</button></p>
</form>`;
  const res = await sendPage(c, { title: props.title, children });
  const csp = pageCsp()
    .split('; ')
    .filter((d) => !d.startsWith('form-action'))
    .join('; ');
  res.headers.set('Content-Security-Policy', csp);
  return res;
}

/** The subdomain field of the Zendesk start pages (connect, sign in), pre-filled from `?subdomain=`. */
export function zendeskSubdomainField(asked: string | undefined): NonNullable<StartPageProps['field']> {
  const a = (asked ?? '').trim().toLowerCase();
  return {
    name: 'subdomain',
    label: 'Your Zendesk subdomain (for https://acme.zendesk.com, "acme"):',
    value: ZENDESK_SUBDOMAIN.test(a) ? a : '',
    placeholder: 'acme',
    pattern: '[A-Za-z0-9][A-Za-z0-9\\-]*',
  };
}

/** The subdomain a Zendesk start page posted, or the 400 `invalid_subdomain` page that says what to give. */
export async function postedZendeskSubdomain(c: Context<AppEnv>): Promise<string | Response> {
  const body = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
  const subdomain = (typeof body.subdomain === 'string' ? body.subdomain : '').trim().toLowerCase();
  if (ZENDESK_SUBDOMAIN.test(subdomain)) return subdomain;
  return failPage(
    c,
    'invalid_subdomain',
    'Not a Zendesk subdomain',
    'Give your Zendesk subdomain only: for https://acme.zendesk.com, that is "acme".',
  );
}
