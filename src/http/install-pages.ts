import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ERROR_STATUS, type ErrorCode } from '../lib/errors.ts';
import { errorResponse } from './errors.ts';
import type { AppEnv } from './types.ts';

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"'`]/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** A small self-contained page for the browser at the end of an OAuth flow. Every argument is escaped. */
export function page(title: string, paragraphs: string[]): string {
  const body = paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join('\n    ');
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <meta name="referrer" content="no-referrer">
    <title>${escapeHtml(title)} · Helpdesk Copilot</title>
    <style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#1f2937}h1{font-size:1.4rem}code{background:#f3f4f6;padding:0 .25rem}</style>
  </head>
  <body>
    <h1>${escapeHtml(title)}</h1>
    ${body}
  </body>
</html>`;
}

function htmlHeaders(c: Context<AppEnv>) {
  c.header('Cache-Control', 'no-store');
  c.header('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'");
}

export function htmlPage(
  c: Context<AppEnv>,
  status: ContentfulStatusCode,
  title: string,
  paragraphs: string[],
) {
  htmlHeaders(c);
  return c.html(page(title, paragraphs), status);
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
