import { html } from 'hono/html';
import type { ContextApiProbe } from '../../pipeline/context/context-api-probe.ts';
import { LANGUAGE_NAMES } from '../../pipeline/drafting/language.ts';
import { MODEL_PRICES } from '../../pipeline/drafting/openai.ts';
import { DEFAULT_CONTEXT_API_KEYS, type PipelineSettings, REPLY_LANGUAGES } from '../../pipeline/settings.ts';
import type { RoutingChoices } from '../../zendesk/routing-choices.ts';
import type { Html } from './layout.ts';

/**
 * The body of `GET /admin/settings`: four forms (routing, drafting, context, Context API) showing
 * the stored values, the Context API's test request and its result. A refused submission comes
 * back with its own values and the error (HTTP status, code, message) beside the field it names;
 * secrets are never put back in a field, only "set" / "not set".
 */
export type Section = 'routing' | 'drafting' | 'context' | 'contextApi' | 'test';

export interface FieldError {
  field: string;
  status: number;
  code: string;
  message: string;
}

export interface FailedForm {
  section: Section;
  values: Record<string, string>;
  error: FieldError;
}

export interface SettingsView {
  settings: PipelineSettings;
  contextApi: { settings: PipelineSettings['contextApi'] | null; secretSet: boolean };
  modelKeySet: boolean;
  /** Whether this server has a model of its own (OPENAI_API_KEY): otherwise the offline drafter writes. */
  serverModel: boolean;
  zendesk: RoutingChoices;
  autoSend: { playbooks: { key: string; autoSend: boolean }[]; thresholds: Map<string, number | null> };
  form: FailedForm | null;
  notice: string | null;
  probe: { accountId: string; endUserEmail: string; result: ContextApiProbe } | null;
}

/** The routing form's brand rows: the tenant's brands from Zendesk, then mapped names Zendesk did not list. */
export function brandRows(v: Pick<SettingsView, 'settings' | 'zendesk'>): string[] {
  const names = (v.zendesk.brands ?? []).map((b) => b.name);
  for (const n of Object.keys(v.settings.routing.brands)) if (!names.includes(n)) names.push(n);
  return names;
}

export function settingsBody(v: SettingsView): Html {
  const f = v.form;
  const val = (section: Section, name: string, current: string | number | undefined | null): string =>
    f?.section === section ? (f.values[name] ?? '') : current == null ? '' : String(current);
  const err = (field: string): Html | '' =>
    f?.error.field === field
      ? html`<p class="error" id="${field}-error" role="alert">${f.error.message} <small>(${f.error.status} ${f.error.code})</small></p>`
      : '';
  const desc = (field: string, hint = true) =>
    [hint ? `${field}-hint` : '', f?.error.field === field ? `${field}-error` : ''].filter(Boolean).join(' ');
  const invalid = (field: string) => (f?.error.field === field ? 'true' : 'false');
  const text = (
    section: Section,
    id: string,
    label: string,
    current: string | number | undefined | null,
    hint: string,
    attrs: { inputmode?: string; placeholder?: string; wide?: boolean } = {},
  ) => html`<label for="${id}">${label}</label>
<input id="${id}" name="${id}"${attrs.wide ? html` class="wide"` : ''} value="${val(section, id, current)}" aria-describedby="${desc(id)}" aria-invalid="${invalid(id)}"${attrs.inputmode ? html` inputmode="${attrs.inputmode}"` : ''}${attrs.placeholder ? html` placeholder="${attrs.placeholder}"` : ''}>
<small id="${id}-hint">${hint}</small>
${err(id)}`;

  const s = v.settings;
  const z = v.zendesk;
  const orgField = val('routing', 'orgField', s.routing.orgField);
  const fields = z.fields?.filter((x) => x.active) ?? null;
  const rows = brandRows(v);
  const ctx = v.contextApi.settings;

  const routing = html`<form method="post" action="/admin/settings/routing" class="stack" id="routing">
<h2>Routing</h2>
${z.unavailable ? html`<p class="notice" id="zendesk-lists">${z.unavailable} Type the organization field key instead; brand mappings can be typed below.</p>` : ''}
<label for="orgField">Organization field holding the account id</label>
${
  fields
    ? html`<select id="orgField" name="orgField" aria-describedby="${desc('orgField')}" aria-invalid="${invalid('orgField')}">
${fields.some((x) => x.key === orgField) ? '' : html`<option value="${orgField}" selected>${orgField || '(choose a field)'}${orgField ? ' (not a field of your Zendesk)' : ''}</option>`}
${fields.map((x) => html`<option value="${x.key}"${x.key === orgField ? ' selected' : ''}>${x.title} (${x.key}, ${x.type})</option>`)}
</select>
<small id="orgField-hint">Read from your Zendesk just now (${fields.length} active organization field${fields.length === 1 ? '' : 's'}).</small>`
    : html`<input id="orgField" name="orgField" value="${orgField}" aria-describedby="${desc('orgField')}" aria-invalid="${invalid('orgField')}">
<small id="orgField-hint">The field's key in Zendesk (Admin Center, Organization fields), e.g. account_id.</small>`
}
${err('orgField')}
<fieldset class="stack"><legend>Brands mapped to accounts</legend>
<small id="brands-hint">A ticket on a mapped brand from someone outside the account is an end-user ticket of that account. Leave an account blank for no mapping.</small>
${
  rows.length === 0 && z.brands
    ? html`<p>Your Zendesk has no brands.</p>`
    : rows.map((name, i) => {
        const id = `brand-${i}`;
        const known = z.brands?.find((b) => b.name === name);
        return html`<input type="hidden" name="brandName-${i}" value="${name}">
<label for="${id}">Account id for brand “${name}”${z.brands && !known ? ' (not a brand of your Zendesk now)' : ''}</label>
<input id="${id}" name="${id}" value="${val('routing', id, s.routing.brands[name])}" aria-describedby="${desc(id, false)}" aria-invalid="${invalid(id)}">
${err(id)}`;
      })
}
${
  z.brands
    ? ''
    : html`<label for="brandName-new">Another brand name</label>
<input id="brandName-new" name="brandName-new" value="${val('routing', 'brandName-new', '')}">
<label for="brand-new">Its account id</label>
<input id="brand-new" name="brand-new" value="${val('routing', 'brand-new', '')}" aria-describedby="${desc('brand-new', false)}">
${err('brand-new')}`
}
${err('brands')}
</fieldset>
<button type="submit">Save routing</button>
</form>`;

  const drafting = html`<form method="post" action="/admin/settings/drafting" class="stack" id="drafting">
<h2>Drafting</h2>
${v.serverModel || v.modelKeySet ? '' : html`<p class="notice" role="note">This server has no model key (OPENAI_API_KEY), so the offline drafter writes every draft until you add your own key below; the model chosen here is used from then on.</p>`}
${text('drafting', 'model', 'Model', s.drafting.model, `Any model your server offers, e.g. ${Object.keys(MODEL_PRICES).slice(0, 3).join(', ')}.`)}
${text('drafting', 'baseUrl', 'OpenAI-compatible base URL', s.drafting.baseUrl, "Blank: OpenAI's. https only; used only with your own API key.", { placeholder: 'https://llm.example.com/v1', wide: true })}
<label for="apiKey">Your model API key</label>
<input id="apiKey" name="apiKey" type="password" autocomplete="off" value="" aria-describedby="${desc('apiKey')}" aria-invalid="${invalid('apiKey')}">
<small id="apiKey-hint">Currently <strong id="apiKey-state">${v.modelKeySet ? 'set' : 'not set'}</strong>${v.modelKeySet ? '' : " (drafts use this server's model account)"}. Write-only: blank keeps it.</small>
${err('apiKey')}
${v.modelKeySet ? html`<label><input type="checkbox" name="clearApiKey" value="1"${f?.section === 'drafting' && f.values.clearApiKey ? ' checked' : ''}> Clear the stored key</label>` : ''}
<label for="replyLanguage">Reply language</label>
<select id="replyLanguage" name="replyLanguage" aria-describedby="${desc('replyLanguage')}">
${REPLY_LANGUAGES.map((l) => {
  const current = val('drafting', 'replyLanguage', s.drafting.replyLanguage);
  return html`<option value="${l}"${l === current ? ' selected' : ''}>${l === 'auto' ? "The ticket's language" : `${LANGUAGE_NAMES[l] ?? l} (${l})`}</option>`;
})}
</select>
<small id="replyLanguage-hint">An agent's instruction on Regenerate still wins.</small>
${err('replyLanguage')}
<button type="submit">Save drafting</button>
</form>
<h3>Auto-send per playbook</h3>
${
  v.autoSend.playbooks.length
    ? html`<table><caption class="visually-hidden">Auto-send per playbook</caption><tr><th scope="col">playbook</th><th scope="col">auto-send</th><th scope="col">threshold</th></tr>
${v.autoSend.playbooks.map(
  (b) =>
    html`<tr><td>${b.key}</td><td>${b.autoSend ? 'on' : 'off'}</td><td>${v.autoSend.thresholds.get(b.key) ?? v.autoSend.thresholds.get('*') ?? 'default (0.9)'}</td></tr>`,
)}</table>`
    : html`<p>No playbooks yet, so no draft sends itself.</p>`
}
<p>Drafts never send themselves unless a playbook turns auto-send on: each playbook's form in the <a href="/admin/catalog#h-playbooks">catalog</a> has the switch. Thresholds are set on <a href="/admin/zendesk/sidebar">Zendesk sidebar settings</a>.</p>`;

  const c = s.context;
  const context = html`<form method="post" action="/admin/settings/context" class="stack" id="context">
<h2>Context</h2>
${text('context', 'deadlineMs', 'Context deadline (ms)', c.deadlineMs, 'All sources together, 20 to 30000; what has not arrived by then is marked missing.', { inputmode: 'numeric' })}
${text('context', 'providerTimeoutMs', 'Per-source timeout (ms)', c.providerTimeoutMs, 'Blank: the deadline.', { inputmode: 'numeric' })}
${text('context', 'kbLimit', 'Knowledge-base articles per ticket', c.kbLimit, '0 to 20.', { inputmode: 'numeric' })}
${text('context', 'recentTickets', 'Recent Zendesk tickets per requester', c.recentTickets, '0 to 50.', { inputmode: 'numeric' })}
<button type="submit">Save context</button>
</form>`;

  const keys = (level: 'account' | 'end_user') =>
    (ctx?.keys[level] ?? DEFAULT_CONTEXT_API_KEYS[level]).join(', ');
  const contextApi = html`<form method="post" action="/admin/settings/context-api" class="stack" id="context-api">
<h2>Context API</h2>
<p>${ctx ? html`Configured: requests go to <code>${ctx.url}</code>.` : 'Not configured: only the built-in sources are used.'}</p>
${text('contextApi', 'ctxUrl', 'Endpoint URL', ctx?.url, 'https only; private and loopback addresses are refused.', { placeholder: 'https://api.example.com/copilot/context', wide: true })}
${text('contextApi', 'ctxKeysAccount', 'Keys asked for account tickets', keys('account'), 'Separated by commas.', { wide: true })}
${text('contextApi', 'ctxKeysEndUser', 'Keys asked for end-user tickets', keys('end_user'), 'Separated by commas.', { wide: true })}
${text('contextApi', 'ctxAttemptTimeoutMs', 'Attempt timeout (ms)', ctx?.attemptTimeoutMs ?? 350, '20 to 10000; a timed-out attempt is retried once.', { inputmode: 'numeric' })}
${text('contextApi', 'ctxDefaultTtlSeconds', 'Cache facts for (seconds)', ctx?.defaultTtlSeconds ?? 60, 'When a fact names no TTL; 0 to 86400.', { inputmode: 'numeric' })}
${text('contextApi', 'ctxErrorTtlSeconds', 'Remember a 4xx answer for (seconds)', ctx?.errorTtlSeconds ?? 30, '0 to 3600.', { inputmode: 'numeric' })}
${text('contextApi', 'ctxMaxResponseBytes', 'Largest answer (bytes)', ctx?.maxResponseBytes ?? 262144, '1024 to 4194304.', { inputmode: 'numeric' })}
<label for="ctxSecret">Signing secret</label>
<input id="ctxSecret" name="ctxSecret" type="password" autocomplete="off" value="" aria-describedby="${desc('ctxSecret')}" aria-invalid="${invalid('ctxSecret')}">
<small id="ctxSecret-hint">Currently <strong id="ctxSecret-state">${v.contextApi.secretSet ? 'set' : 'not set'}</strong>. Write-only: blank keeps it; at least 16 characters.</small>
${err('ctxSecret')}
<button type="submit">Save Context API</button>
</form>`;

  const testForm = html`<form method="post" action="/admin/settings/context-api/test" class="stack" id="context-api-test">
<h3>Send test request</h3>
<p>Sends one signed request exactly as a ticket would, for the account you name (nothing is cached or drafted).</p>
${text('test', 'testAccountId', 'Sample account id', v.probe?.accountId ?? '', 'An account id your endpoint knows.')}
${text('test', 'testEndUserEmail', 'End-user email (optional)', v.probe?.endUserEmail ?? '', 'Asks at the end-user level instead.')}
<button type="submit"${ctx ? '' : ' disabled'}>Send test request</button>
${ctx ? '' : html`<small>Save the Context API first.</small>`}
</form>
${v.probe ? probeResult(v.probe.result) : ''}`;

  return html`${v.notice ? html`<p class="notice" role="status">${v.notice}</p>` : ''}
<p><a href="#routing">Routing</a> · <a href="#drafting">Drafting</a> · <a href="#context">Context</a> · <a href="#context-api">Context API</a></p>
${routing}
${drafting}
${context}
${contextApi}
${testForm}`;
}

function probeResult(r: ContextApiProbe): Html {
  return html`<section id="probe-result" aria-labelledby="probe-heading">
<h3 id="probe-heading">Test result: ${r.ok ? 'answered' : 'failed'}</h3>
<p class="${r.ok ? '' : 'error'}">${
    r.ok
      ? r.attempts.length === 0
        ? 'No keys are asked at this level, so the pipeline sends no request.'
        : r.factKeys.length
          ? `The pipeline would use facts for: ${r.factKeys.join(', ')}.`
          : 'The answer was valid but held no facts for the keys asked.'
      : `The pipeline would mark the Context API missing: ${r.error}.`
  } (${r.elapsedMs} ms in all, ${r.level} level)</p>
${r.attempts.length === 0 ? html`<p>No request was sent.</p>` : ''}
${r.attempts.map(
  (a, i) => html`<h4>Request ${r.attempts.length > 1 ? `${i + 1} of ${r.attempts.length}` : ''}</h4>
<pre>${a.request.method} ${a.request.url}
${a.request.headers.map(([k, val]) => `${k}: ${val}`).join('\n')}

${a.request.body}</pre>
<h4>Answer</h4>
${
  a.response
    ? html`<p>HTTP <strong>${a.response.status}</strong> in ${a.elapsedMs} ms${a.response.truncated ? ' (body trimmed)' : ''}</p>
<pre>${a.response.body || '(empty body)'}</pre>`
    : html`<p class="error">No answer after ${a.elapsedMs} ms: ${a.error ?? 'request failed'}.</p>`
}`,
)}
</section>`;
}
