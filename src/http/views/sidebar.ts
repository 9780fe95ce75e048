import { html } from 'hono/html';
import { type Html, Layout } from './layout.ts';

/**
 * The Zendesk sidebar page (server-rendered shell; the script fills in the ticket's draft from
 * the JSON API) and the refusal page. The only script from elsewhere is Zendesk's ZAF SDK.
 */
export const ZAF_SDK_URL = 'https://static.zdassets.com/zendesk_app_framework_sdk/2.0/zaf_sdk.min.js';
export const SIDEBAR_SCRIPT_PATH = '/assets/sidebar.js';
export const SIDEBAR_STYLE_PATH = '/assets/sidebar.css';

/** CSP of the sidebar: our script and Zendesk's SDK, calls to ourselves, framed by Zendesk only. */
export function sidebarCsp(frameAncestors: string[]): string {
  return [
    "default-src 'none'",
    `script-src 'self' ${ZAF_SDK_URL}`,
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
    `frame-ancestors ${frameAncestors.join(' ')}`,
  ].join('; ');
}

export function sidebarPage(props: { credential: string; expiresAt: Date; subdomain: string }): Html {
  return Layout({
    title: 'Copilot',
    heading: false,
    scripts: [ZAF_SDK_URL, SIDEBAR_SCRIPT_PATH],
    children: html`<link rel="stylesheet" href="${SIDEBAR_STYLE_PATH}">
<main id="sidebar" data-credential="${props.credential}" data-expires-at="${props.expiresAt.toISOString()}" data-subdomain="${props.subdomain}">
<p class="muted" id="sb-loading">Loading the draft…</p>
</main>`,
  });
}

export function sidebarRefusalPage(reason: string): Html {
  return Layout({
    title: 'Copilot cannot open here',
    children: html`<link rel="stylesheet" href="${SIDEBAR_STYLE_PATH}">
<p class="sb-refusal" id="sb-refusal">${reason}</p>
<p class="muted">Nothing was changed. If this keeps happening, ask your Helpdesk Copilot admin to check the Zendesk connection.</p>`,
  });
}

export const SIDEBAR_CSS = `body{margin:0;padding:.5rem;max-width:none;font-size:13px}
.sb-row{display:flex;gap:.5rem;flex-wrap:wrap;align-items:center;margin:.25rem 0}
.sb-badge{border:1px solid var(--line);border-radius:3px;padding:0 .35rem;font-size:12px}
.sb-guard-blocked{border:2px solid var(--danger);color:var(--danger);padding:.4rem;font-weight:600}
.sb-guard-redacted{border:2px solid #b45309;color:#b45309;padding:.4rem;font-weight:600}
.sb-stale{color:#b45309;font-weight:600}
textarea{width:100%;box-sizing:border-box;min-height:9rem;font:inherit}
details{border:1px solid var(--line);border-radius:3px;padding:.25rem .4rem;margin:.25rem 0}
summary{cursor:pointer}
.sb-error{color:var(--danger);font-weight:600}
.sb-sent{color:#047857;font-weight:600}
.sb-refusal{color:var(--danger);font-weight:600}
button{margin:.15rem .15rem .15rem 0}
input[type=text]{width:100%;box-sizing:border-box}
`;

/**
 * The page's script (served as /assets/sidebar.js). It builds every element with textContent,
 * never innerHTML, so draft text and facts cannot inject markup. The credential is read from
 * the page and sent as a bearer header; ZAF gives the ticket id and the editor.
 */
export const SIDEBAR_JS = `document.addEventListener('DOMContentLoaded', () => {
  'use strict';
  const root = document.getElementById('sidebar');
  if (!root) return;
  const credential = root.dataset.credential;
  const client = typeof ZAFClient !== 'undefined' ? ZAFClient.init() : null;
  let ticketId = null;
  let view = null;
  let editing = false;
  let message = null;

  const el = (tag, attrs, ...kids) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'on') for (const [ev, fn] of Object.entries(v)) e.addEventListener(ev, fn);
      else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const k of kids.flat()) if (k !== null && k !== undefined && k !== false) e.append(typeof k === 'string' ? document.createTextNode(k) : k);
    return e;
  };

  async function api(method, path, body) {
    const res = await fetch('/zendesk/sidebar/api' + path, {
      method,
      headers: Object.assign({ authorization: 'Bearer ' + credential }, body ? { 'content-type': 'application/json' } : {}),
      body: body ? JSON.stringify(body) : undefined,
    });
    let json = null;
    try { json = await res.json(); } catch (_) {}
    if (!res.ok) throw new Error((json && json.error && json.error.message) || ('HTTP ' + res.status));
    return json;
  }

  function resize() {
    if (client) client.invoke('resize', { width: '100%', height: Math.min(900, document.body.scrollHeight + 20) + 'px' });
  }

  async function load() {
    try {
      view = await api('GET', '/tickets/' + encodeURIComponent(ticketId));
      message = null;
    } catch (e) {
      message = { error: e.message };
    }
    render();
  }

  async function act(fn) {
    try {
      message = null;
      await fn();
    } catch (e) {
      message = { error: e.message };
    }
    render();
  }

  function render() {
    root.replaceChildren();
    if (message && message.error) root.append(el('p', { class: 'sb-error', role: 'alert', id: 'sb-error' }, message.error));
    if (message && message.info) root.append(el('p', { class: 'muted', id: 'sb-info' }, message.info));
    if (!view) return resize();
    const d = view.draft;
    if (view.state === 'drafting') root.append(el('p', { id: 'sb-state' }, 'Drafting a reply…'));
    if (!d) {
      if (view.state !== 'drafting') root.append(el('p', { id: 'sb-state' }, 'No draft yet.'),
        el('button', { id: 'sb-draft-now', on: { click: () => act(async () => { await api('POST', '/tickets/' + ticketId + '/regenerate', {}); await load(); }) } }, 'Draft now'));
      return resize();
    }
    const meta = el('div', { class: 'sb-row' },
      el('span', { class: 'sb-badge', id: 'sb-status' }, d.status),
      el('span', { class: 'sb-badge', id: 'sb-route' }, 'route: ' + d.route.replace('_', ' ')),
      d.accountName ? el('span', { class: 'sb-badge', id: 'sb-account' }, d.accountName) : null,
      d.confidence !== null ? el('span', { class: 'sb-badge' }, 'confidence ' + Math.round(d.confidence * 100) + '%') : null);
    root.append(meta);
    if (view.stale) root.append(el('p', { class: 'sb-stale', id: 'sb-stale' }, 'The requester wrote again after this draft (' + new Date(view.stale.since).toLocaleString() + ')' + (view.state === 'drafting' ? '; a new draft is being written.' : '. Check their message, or Regenerate.')));
    if (d.guard.action === 'blocked') root.append(el('p', { class: 'sb-guard-blocked', id: 'sb-guard' }, 'BLOCKED by the leak guard: ' + (d.guard.findings.map((f) => f.kind.replace(/_/g, ' ')).join(', ') || 'private data') + '. It cannot be sent without an override.'));
    else if (d.guard.action === 'redacted') root.append(el('p', { class: 'sb-guard-redacted', id: 'sb-guard' }, 'REDACTED by the leak guard: ' + d.guard.findings.map((f) => f.kind.replace(/_/g, ' ')).join(', ') + '.'));
    if (d.needsHumanReason) root.append(el('p', { class: 'muted', id: 'sb-needs-human' }, 'Needs a human: ' + d.needsHumanReason));
    if (d.delivery && d.delivery.status === 'sent') {
      root.append(el('p', { class: 'sb-sent', id: 'sb-sent' }, 'Sent by ' + (d.delivery.agentName || ('agent ' + d.delivery.agentId)) + (d.delivery.sentAt ? ' at ' + new Date(d.delivery.sentAt).toLocaleString() : '')));
    } else if (d.delivery && d.delivery.status === 'failed' && d.delivery.reason) {
      root.append(el('p', { class: 'sb-error', id: 'sb-failed' }, 'Not sent: ' + d.delivery.reason));
    } else if (d.status === 'rejected') {
      root.append(el('p', { class: 'muted', id: 'sb-rejected' }, 'Rejected' + (d.delivery && d.delivery.reason ? ': ' + d.delivery.reason : '') + '.'));
    }
    const text = el('textarea', { id: 'sb-body', readonly: !editing, 'aria-label': 'Draft reply' });
    text.value = d.body;
    root.append(text);
    const cites = el('div', { id: 'sb-citations' }, el('strong', {}, 'Citations (' + d.citations.length + ')'));
    for (const c of d.citations) {
      cites.append(el('details', { class: 'sb-citation' },
        el('summary', {}, c.key),
        el('div', { class: 'sb-fact' }, c.fact),
        el('div', { class: 'muted' }, 'source: ' + c.source + (c.fetchedAt ? ' · fetched ' + new Date(c.fetchedAt).toLocaleString() : ''))));
    }
    root.append(cites);
    const open = ['pending', 'blocked', 'failed'].includes(d.status);
    if (!open) return resize();
    const blocked = d.status === 'blocked' || (d.guard.action === 'blocked' && d.status === 'failed');
    const override = blocked ? el('input', { type: 'text', id: 'sb-override', placeholder: 'Override: why is it safe to send?' }) : null;
    const send = () => act(async () => {
      const body = { body: text.value };
      if (override) body.overrideReason = override.value;
      const r = await api('POST', '/tickets/' + ticketId + '/drafts/' + d.id + '/send', body);
      view.draft = r.draft;
      editing = false;
    });
    const buttons = el('div', { class: 'sb-row' },
      el('button', { id: 'sb-insert', disabled: blocked, on: { click: () => act(async () => {
        if (!client) throw new Error('Zendesk is not connected to this page.');
        await client.invoke('ticket.editor.insert', text.value);
        await api('POST', '/tickets/' + ticketId + '/drafts/' + d.id + '/inserted', { body: text.value });
        message = { info: 'Inserted into the reply editor. Send it with Zendesk\\u2019s button.' };
      }) } }, 'Insert into reply'),
      el('button', { id: 'sb-send', on: { click: send } }, editing ? 'Send edited reply' : 'Send as public reply'),
      editing ? null : el('button', { id: 'sb-edit', on: { click: () => { editing = true; render(); document.getElementById('sb-body').focus(); } } }, 'Edit, then send'));
    root.append(buttons);
    if (override) root.append(override);
    const instruction = el('input', { type: 'text', id: 'sb-instruction', placeholder: 'Regenerate: shorter, more formal, in German…' });
    const reason = el('input', { type: 'text', id: 'sb-reject-reason', placeholder: 'Reject: reason' });
    root.append(instruction,
      el('button', { id: 'sb-regenerate', on: { click: () => act(async () => { await api('POST', '/tickets/' + ticketId + '/regenerate', { instruction: instruction.value }); await load(); }) } }, 'Regenerate'),
      reason,
      el('button', { id: 'sb-reject', on: { click: () => act(async () => { const r = await api('POST', '/tickets/' + ticketId + '/drafts/' + d.id + '/reject', { reason: reason.value }); view.draft = r.draft; }) } }, 'Reject'));
    resize();
  }

  async function start() {
    if (!client) { message = { error: 'Open this page from a ticket in Zendesk.' }; render(); return; }
    const data = await client.get('ticket.id');
    ticketId = String(data['ticket.id']);
    await load();
  }
  start().catch((e) => { message = { error: e.message }; render(); });
});
`;
