import { Hono } from 'hono';
import { html } from 'hono/html';
import type { Features } from '../../config.ts';
import type { AppEnv } from '../types.ts';
import { type Html, sendPage } from './layout.ts';

/** `GET /`: what this server is and where its pages are. Reveals nothing but which features are on. */
export function homeBody(features: Features): Html {
  const off = (what: string, vars: string) =>
    html`<span class="muted">(off: set ${vars} to enable ${what})</span>`;
  return html`<p>A multi-tenant helpdesk copilot for Slack and Zendesk: draft replies that a human approves.</p>
<h2>Admin</h2>
<ul><li><a href="/admin">Admin console</a></li></ul>
<h2>Install and connect</h2>
<ul>
<li><a href="/slack/install">Add to Slack</a> ${features.slackInstall ? '' : off('Slack install', 'SLACK_CLIENT_ID and SLACK_CLIENT_SECRET')}</li>
<li><form method="get" action="/zendesk/connect"><label>Connect Zendesk: subdomain <input name="subdomain" placeholder="acme" pattern="[a-z0-9][a-z0-9-]*" required></label> <button type="submit">Connect</button></form>
${features.zendesk ? '' : off('Zendesk connect', 'ZENDESK_CLIENT_ID and ZENDESK_CLIENT_SECRET')}</li>
</ul>
<h2>Health</h2>
<ul><li><a href="/healthz">/healthz</a>: the process is up</li><li><a href="/readyz">/readyz</a>: database, migrations and connections</li></ul>`;
}

export function homeRoutes() {
  const app = new Hono<AppEnv>();
  app.get('/', (c) =>
    sendPage(c, { title: 'Helpdesk Copilot', children: homeBody(c.get('deps').config.features) }),
  );
  return app;
}
