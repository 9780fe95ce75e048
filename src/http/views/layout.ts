import type { Context } from 'hono';
import { Hono } from 'hono';
import { html } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/**
 * The one layout of every server-rendered page, built with `hono/html`: every interpolated value
 * is escaped unless it is itself an `html` template (our own markup). `raw` is for nothing else.
 * Pages load no inline script or style: the stylesheet is served from STYLESHEET_PATH, so the
 * Content-Security-Policy stays strict (`default-src 'none'; style-src 'self'`).
 */

/** A fragment of escaped HTML, as `html\`...\`` returns it. */
export type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

export interface NavLink {
  href: string;
  label: string;
}

export interface LayoutProps {
  /** Page title: the `<title>` (with " · Helpdesk Copilot") and, unless `heading: false`, the `<h1>`. */
  title: string;
  children: Html;
  /** Links shown above the page. */
  nav?: NavLink[];
  /** Render the title as the page's `<h1>` (default true). */
  heading?: boolean;
  /** Same-origin script URLs to load (e.g. `/assets/sidebar.js`); the CSP must allow them (see sendPage). */
  scripts?: string[];
}

export const STYLESHEET_PATH = '/assets/app.css';

/** Our own stylesheet; small on purpose. */
export const STYLESHEET = `:root{color-scheme:light dark;--fg:#1f2937;--muted:#6b7280;--line:#d1d5db;--danger:#b91c1c;--bg:#fff}
@media (prefers-color-scheme:dark){:root{--fg:#e5e7eb;--muted:#9ca3af;--line:#374151;--danger:#f87171;--bg:#111827}}
body{font:15px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:var(--fg);background:var(--bg)}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.5rem}
nav{display:flex;flex-wrap:wrap;gap:.25rem 1rem;margin-bottom:1rem;font-size:.9rem}
a{color:inherit}
code{background:rgba(127,127,127,.15);padding:0 .25rem;border-radius:3px}
table{border-collapse:collapse}td,th{padding:.25rem .75rem;border-bottom:1px solid var(--line);text-align:left;overflow-wrap:break-word}
.muted{color:var(--muted)}
.danger{border:1px solid var(--danger);padding:1rem;margin-top:2rem}
button{font:inherit;padding:.25rem .75rem;white-space:nowrap}input,select{font:inherit;max-width:100%}
.stack{display:flex;flex-direction:column;align-items:flex-start;gap:.35rem}.stack button{margin-top:.5rem}
.error{color:var(--danger);margin:0}.notice{border-left:3px solid var(--fg);padding-left:.75rem}
small{color:var(--muted)}
.checklist{padding-left:1.25rem}.step{margin:.5rem 0}.step p{margin:.2rem 0}
.badge{display:inline-block;font-size:.8rem;padding:0 .4rem;border:1px solid var(--line);border-radius:3px}
.step-done .badge{border-color:currentColor}.step-attention .badge{color:var(--danger);border-color:var(--danger)}
.step-optional .badge,.step-unavailable .badge{color:var(--muted)}
.filters{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:flex-end}.filters label{display:flex;flex-direction:column;font-size:.9rem}
code{overflow-wrap:anywhere}input.wide{width:32rem}pre{white-space:pre-wrap;overflow-wrap:anywhere;background:rgba(127,127,127,.1);padding:.5rem;font-size:.85rem}
fieldset{border:1px solid var(--line);max-width:100%;box-sizing:border-box}
textarea{font:inherit;width:100%;max-width:40rem;box-sizing:border-box}.text{white-space:pre-wrap;overflow-wrap:anywhere;border-left:3px solid var(--line);padding-left:.75rem}.summary{display:grid;grid-template-columns:auto 1fr;gap:.15rem 1rem}.summary dd{margin:0}.facts{padding-left:1.25rem}
table{position:relative}.inline{display:inline}.actions{white-space:nowrap}.flag{color:var(--danger);border-color:var(--danger)}
pre,details code{white-space:pre-wrap;overflow-wrap:anywhere}.issues li,.changes li{overflow-wrap:anywhere}
figure{margin:.5rem 0}.chart{display:block;max-width:100%;height:auto}.legend{list-style:none;padding:0;margin:.25rem 0;display:flex;flex-wrap:wrap;gap:.25rem 1rem;font-size:.85rem}
details{margin:.5rem 0}summary{cursor:pointer}caption{text-align:left;font-weight:600}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
@media (max-width:30rem){body{margin:1rem auto}td,th{padding:.25rem .4rem}table{display:block;overflow-x:auto;max-width:100%;position:relative}}
`;

export function Layout(props: LayoutProps): Html {
  const nav = props.nav?.length
    ? html`<nav>${props.nav.map((l) => html`<a href="${l.href}">${l.label}</a>`)}</nav>`
    : '';
  const scripts = (props.scripts ?? []).map((src) => html`<script src="${src}"></script>`);
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${props.title} · Helpdesk Copilot</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${STYLESHEET_PATH}">
${scripts}
</head>
<body>
${nav}
${props.heading === false ? '' : html`<h1>${props.title}</h1>`}
${props.children}
</body>
</html>`;
}

export interface SendPageOptions {
  status?: ContentfulStatusCode;
  /** Origins allowed to frame the page (CSP frame-ancestors), e.g. `https://*.zendesk.com`; default none. */
  frameAncestors?: string[];
  /** Extra script-src sources beyond 'self' (only when `scripts` load from elsewhere). */
  scriptSrc?: string[];
}

/** The CSP of our pages: nothing inline, our stylesheet, forms post to ourselves. */
export function pageCsp(opts: SendPageOptions = {}, hasScripts = false): string {
  const parts = [
    "default-src 'none'",
    "style-src 'self'",
    "img-src 'self' data:",
    "form-action 'self'",
    "base-uri 'none'",
    `frame-ancestors ${opts.frameAncestors?.length ? opts.frameAncestors.join(' ') : "'none'"}`,
  ];
  if (hasScripts || opts.scriptSrc?.length)
    parts.push(`script-src 'self' ${(opts.scriptSrc ?? []).join(' ')}`.trim());
  return parts.join('; ');
}

/** Renders `Layout(props)` with our page headers (no-store, strict CSP, framing denied by default). */
export async function sendPage(
  // Any route's context: the page reads no variables, only sets headers and the body.
  c: Context,
  props: LayoutProps,
  opts: SendPageOptions = {},
): Promise<Response> {
  c.header('Cache-Control', 'no-store');
  c.header('Content-Security-Policy', pageCsp(opts, Boolean(props.scripts?.length)));
  if (!opts.frameAncestors?.length) c.header('X-Frame-Options', 'DENY');
  c.header('X-Content-Type-Options', 'nosniff');
  return c.html(await Layout(props), opts.status ?? 200);
}

/** `GET /assets/app.css`: the layout's stylesheet. */
export function assetRoutes() {
  const app = new Hono();
  app.get(STYLESHEET_PATH, (c) =>
    c.body(STYLESHEET, 200, {
      'Content-Type': 'text/css; charset=utf-8',
      'Cache-Control': 'public, max-age=3600',
      'X-Content-Type-Options': 'nosniff',
    }),
  );
  return app;
}
