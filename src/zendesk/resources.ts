import { z } from 'zod';
import { AppError } from '../lib/errors.ts';
import type { ZendeskApi } from './api.ts';

/**
 * Typed Zendesk resource methods: the one place that knows Zendesk's paths and response shapes.
 * Every response is parsed with zod here; callers get plain typed values with string ids.
 * Errors are the transport's `ZendeskApiError` (status, retryable, retryAt); `isZendeskNotFound`
 * tells a 404. Paths are the documented ones (developer.zendesk.com; facts sheet §2.4-2.7).
 */
/** The user a token acts as. `active` is false for an inactive or suspended user. */
export interface ZendeskCurrentUser {
  id: string;
  name: string | null;
  email: string | null;
  /** `end-user`, `agent` or `admin`. */
  role: string | null;
  active: boolean;
}

export interface ZendeskResources {
  readonly subdomain: string;
  // Tickets and comments
  /** `GET /api/v2/tickets/{id}.json?include=users,organizations`, plus the brand name (`GET /api/v2/brands/{id}.json`). */
  getTicket(ticketId: string): Promise<ZendeskTicket>;
  /** The ticket's comments, newest first by default (`GET /api/v2/tickets/{id}/comments.json`, first page). */
  listComments(ticketId: string, opts?: { order?: 'asc' | 'desc' }): Promise<ZendeskComment[]>;
  /** The newest public comment written by `requesterId`, or null. */
  latestPublicCommentBy(ticketId: string, requesterId: string): Promise<ZendeskComment | null>;
  /** An internal note (`PUT /api/v2/tickets/{id}.json`, `comment.public: false`) as the token's user. */
  addInternalNote(ticketId: string, body: string): Promise<CommentWriteResult>;
  /** A public reply written as the agent `authorId` (`comment.author_id`). */
  addPublicReply(ticketId: string, reply: { body: string; authorId: string }): Promise<CommentWriteResult>;
  /** Recent tickets a user requested (`GET /api/v2/users/{id}/tickets/requested.json`), newest first. */
  recentTicketsOfUser(userId: string, limit: number): Promise<ZendeskTicketSummary[]>;
  /** Recent tickets of an organization (`GET /api/v2/organizations/{id}/tickets.json`), newest first. */
  recentTicketsOfOrganization(orgId: string, limit: number): Promise<ZendeskTicketSummary[]>;
  // Webhooks
  getWebhook(id: string): Promise<ZendeskWebhook>;
  /** Webhooks whose name contains `nameContains`, every page (cursor pagination, at most 20 pages). */
  findWebhooks(nameContains: string): Promise<ZendeskWebhook[]>;
  createWebhook(def: ZendeskWebhookDefinition): Promise<ZendeskWebhook>;
  updateWebhookEndpoint(id: string, endpoint: string): Promise<void>;
  deleteWebhook(id: string): Promise<void>;
  getWebhookSigningSecret(id: string): Promise<string>;
  // Triggers
  getTrigger(id: string): Promise<ZendeskTrigger>;
  /** `GET /api/v2/triggers/search?query=` (first page). */
  searchTriggers(query: string): Promise<ZendeskTrigger[]>;
  createTrigger(def: ZendeskTriggerDefinition): Promise<ZendeskTrigger>;
  updateTrigger(id: string, def: ZendeskTriggerDefinition): Promise<void>;
  deleteTrigger(id: string): Promise<void>;
  // OAuth
  /** Revokes the access token in use (`DELETE /api/v2/oauth/tokens/current.json`). */
  revokeCurrentToken(): Promise<void>;
  // Apps API (private app of the sidebar)
  /** `POST /api/v2/apps/uploads.json`, multipart field `uploaded_data` (a zip, at most 2 MB). */
  uploadAppPackage(zip: Uint8Array, filename?: string): Promise<{ uploadId: string }>;
  /** `POST /api/v2/apps.json` with an upload id: starts a build; poll `getAppJobStatus`. */
  createApp(app: { name: string; shortDescription?: string; uploadId: string }): Promise<{ jobId: string }>;
  /** `PUT /api/v2/apps/{id}.json` with a new upload id: rebuilds an existing app. */
  updateApp(appId: string, uploadId: string): Promise<{ jobId: string }>;
  /** `GET /api/v2/apps/job_statuses/{id}`: `completed` carries the app id; `failed` a message. */
  getAppJobStatus(jobId: string): Promise<ZendeskAppJob>;
  /** `POST /api/v2/apps/installations.json`: installs an app with its settings. */
  installApp(install: { appId: string; settings: Record<string, unknown> }): Promise<ZendeskAppInstallation>;
  /** `GET /api/v2/apps/installations/{id}.json`; a 404 is ZendeskApiError (isZendeskNotFound). */
  getAppInstallation(installationId: string): Promise<ZendeskAppInstallation>;
  /** `GET /api/v2/apps/installations.json`: the account's app installations. */
  listAppInstallations(): Promise<ZendeskAppInstallation[]>;
  /** `GET /api/v2/apps/owned.json`: the apps this account uploaded (private apps), every page. */
  listOwnedApps(): Promise<{ id: string; name: string }[]>;
  /** `GET /api/v2/users/me.json`: the user the token acts as. */
  getCurrentUser(): Promise<ZendeskCurrentUser>;
  /** `GET /api/v2/custom_statuses.json`: the account's ticket statuses (standard and custom). */
  listCustomStatuses(): Promise<ZendeskCustomStatus[]>;
  /** `GET /api/v2/organization_fields.json`: the account's organization fields, every page (cursor pagination, at most 20 pages of 100). */
  listOrganizationFields(): Promise<ZendeskOrganizationField[]>;
  /** `GET /api/v2/brands.json`: the account's brands, every page (cursor pagination, at most 20 pages of 100). */
  listBrands(): Promise<ZendeskBrand[]>;
  /** `DELETE /api/v2/apps/installations/{id}.json`. */
  uninstallApp(installationId: string): Promise<void>;
  /** `DELETE /api/v2/apps/{id}.json`. */
  deleteApp(appId: string): Promise<void>;
  /** The app's public key for verifying its signed URLs (`GET /api/v2/apps/{id}/public_key.pem`). */
  getAppPublicKey(appId: string): Promise<string>;
}

export interface ZendeskTicket {
  id: string;
  subject: string;
  /** The first message (Zendesk's `description`). */
  description: string;
  requester: { id: string; name: string | null; email: string | null } | null;
  organization: { id: string; name: string | null; fields: Record<string, unknown> } | null;
  brand: { id: string; name: string } | null;
  recipient: string | null;
  via: string | null;
  createdAt: string | null;
}

export interface ZendeskComment {
  id: string | null;
  authorId: string | null;
  body: string;
  public: boolean;
  createdAt: string | null;
}

export interface CommentWriteResult {
  ticketId: string;
  /** The new comment's id, when Zendesk's audit names it. */
  commentId: string | null;
  auditId: string | null;
}

export interface ZendeskTicketSummary {
  id: number;
  subject: string | null;
  status: string | null;
  createdAt: string | null;
}

export interface ZendeskWebhook {
  id: string;
  name: string | null;
  endpoint: string;
  status: string | null;
}

export interface ZendeskWebhookDefinition {
  name: string;
  description: string;
  endpoint: string;
  status: 'active' | 'inactive';
  http_method: 'POST';
  request_format: 'json';
  subscriptions: string[];
}

export interface ZendeskTrigger {
  id: string;
  title: string;
  active: boolean;
  /** The webhook id of its `notification_webhook` action, if any. */
  webhookId: string | null;
}

export interface ZendeskTriggerDefinition {
  title: string;
  active: boolean;
  description?: string;
  conditions: { all: unknown[]; any: unknown[] };
  actions: { field: string; value: unknown }[];
}

export interface ZendeskAppJob {
  status: 'queued' | 'working' | 'completed' | 'failed' | 'killed';
  appId: string | null;
  message: string | null;
}

export interface ZendeskCustomStatus {
  id: string;
  /** The name agents see. */
  agentLabel: string;
  /** `new`, `open`, `pending`, `hold` or `solved`. */
  category: string;
  active: boolean;
}

export interface ZendeskOrganizationField {
  id: string;
  /** What `organization_fields` on an organization is keyed by (routing's `orgField`). */
  key: string;
  title: string;
  /** `text`, `integer`, `dropdown`, `lookup`, ... */
  type: string;
  active: boolean;
}

export interface ZendeskBrand {
  id: string;
  /** What routing's `brands` map is keyed by (a ticket's brand name). */
  name: string;
  subdomain: string | null;
  active: boolean;
  isDefault: boolean;
}

export interface ZendeskAppInstallation {
  id: string;
  appId: string;
  enabled: boolean | null;
}

const id = z.union([z.number(), z.string().min(1)]).transform(String);
const userSchema = z.object({ id: z.number(), name: z.string().nullish(), email: z.string().nullish() });
const orgSchema = z.object({
  id: z.number(),
  name: z.string().nullish(),
  organization_fields: z.record(z.string(), z.unknown()).nullish(),
});
const ticketEnvelope = z.object({
  ticket: z.object({
    id: z.number(),
    subject: z.string().nullish(),
    description: z.string().nullish(),
    requester_id: z.number().nullish(),
    organization_id: z.number().nullish(),
    brand_id: z.number().nullish(),
    recipient: z.string().nullish(),
    via: z.object({ channel: z.union([z.string(), z.number()]).nullish() }).nullish(),
    created_at: z.string().nullish(),
  }),
  users: z.array(userSchema).optional(),
  organizations: z.array(orgSchema).optional(),
});
const brandEnvelope = z.object({ brand: z.object({ id: z.number(), name: z.string() }) });
const commentSchema = z.object({
  id: id.nullish(),
  body: z.string().nullish(),
  plain_body: z.string().nullish(),
  public: z.boolean().nullish(),
  author_id: id.nullish(),
  created_at: z.string().nullish(),
});
const commentsEnvelope = z.object({ comments: z.array(commentSchema) });
const ticketWriteEnvelope = z.object({
  ticket: z.object({ id }).optional(),
  audit: z
    .object({
      id: id.nullish(),
      events: z.array(z.object({ id: id.nullish(), type: z.string().nullish() })).nullish(),
    })
    .nullish(),
});
const ticketsEnvelope = z.object({
  tickets: z.array(
    z.object({
      id: z.number(),
      subject: z.string().nullish(),
      status: z.string().nullish(),
      created_at: z.string().nullish(),
    }),
  ),
});
const webhookSchema = z.object({
  id: z.string(),
  name: z.string().nullish(),
  endpoint: z.string(),
  status: z.string().nullish(),
});
const webhookEnvelope = z.object({ webhook: webhookSchema });
const webhookList = z.object({
  webhooks: z.array(webhookSchema),
  meta: z.object({ has_more: z.boolean().nullish(), after_cursor: z.string().nullish() }).partial().nullish(),
});
const signingSecretEnvelope = z.object({ signing_secret: z.object({ secret: z.string().min(8) }) });
const triggerSchema = z.object({
  id,
  title: z.string(),
  active: z.boolean().nullish(),
  actions: z.array(z.object({ field: z.string(), value: z.unknown() })).nullish(),
});
const triggerEnvelope = z.object({ trigger: triggerSchema });
const triggerList = z.object({ triggers: z.array(triggerSchema) });
const uploadEnvelope = z.object({ id });
const jobEnvelope = z.object({ job_id: id });
const appJobSchema = z.object({
  status: z.enum(['queued', 'working', 'completed', 'failed', 'killed']),
  app_id: id.nullish(),
  message: z.string().nullish(),
});
// The installation comes at the top level; accept an `installation` envelope too.
const installationSchema = z.preprocess(
  (v) =>
    v && typeof v === 'object' && 'installation' in v ? (v as { installation: unknown }).installation : v,
  z.object({ id, app_id: id, enabled: z.boolean().nullish() }),
);
const installationsEnvelope = z.object({
  installations: z.array(z.object({ id, app_id: id, enabled: z.boolean().nullish() })),
});
const ownedAppsEnvelope = z.object({
  apps: z.array(z.object({ id, name: z.string() })),
  next_page: z.string().nullish(),
});
const meEnvelope = z.object({
  user: z.object({
    id,
    name: z.string().nullish(),
    email: z.string().max(320).nullish(),
    role: z.string().max(50).nullish(),
    active: z.boolean().nullish(),
    suspended: z.boolean().nullish(),
  }),
});
const customStatusesEnvelope = z.object({
  custom_statuses: z.array(
    z.object({
      id,
      agent_label: z.string(),
      status_category: z.string(),
      active: z.boolean().nullish(),
    }),
  ),
});

/** Cursor pagination's `meta` (`has_more`, `after_cursor`), as the list endpoints send it. */
const cursorMeta = z
  .object({ has_more: z.boolean().nullish(), after_cursor: z.string().nullish() })
  .partial()
  .nullish();
const organizationFieldsEnvelope = z.object({
  organization_fields: z.array(
    z.object({
      id,
      key: z.string().min(1).max(200),
      title: z.string().max(500).nullish(),
      type: z.string().max(50).nullish(),
      active: z.boolean().nullish(),
    }),
  ),
  meta: cursorMeta,
});
const brandsEnvelope = z.object({
  brands: z.array(
    z.object({
      id,
      name: z.string().min(1).max(500),
      subdomain: z.string().max(200).nullish(),
      active: z.boolean().nullish(),
      default: z.boolean().nullish(),
    }),
  ),
  meta: cursorMeta,
});

const seg = (s: string) => encodeURIComponent(s);
const numericId = (what: string, v: string) => {
  if (!/^\d{1,20}$/.test(v)) throw new AppError('internal', `Zendesk ${what} id must be numeric`);
  return v;
};

function toComment(c: z.infer<typeof commentSchema>): ZendeskComment {
  return {
    id: c.id ?? null,
    authorId: c.author_id ?? null,
    body: c.plain_body ?? c.body ?? '',
    public: c.public !== false,
    createdAt: c.created_at ?? null,
  };
}

function toTrigger(t: z.infer<typeof triggerSchema>): ZendeskTrigger {
  const a = (t.actions ?? []).find((x) => x.field === 'notification_webhook');
  const webhookId = Array.isArray(a?.value) && typeof a.value[0] === 'string' ? a.value[0] : null;
  return { id: t.id, title: t.title, active: t.active !== false, webhookId };
}

const toWebhook = (w: z.infer<typeof webhookSchema>): ZendeskWebhook => ({
  id: w.id,
  name: w.name ?? null,
  endpoint: w.endpoint,
  status: w.status ?? null,
});

export function zendeskResources(api: ZendeskApi): ZendeskResources {
  const writeComment = async (ticketId: string, comment: Record<string, unknown>) => {
    const r = await api.request('PUT', `/api/v2/tickets/${numericId('ticket', ticketId)}.json`, {
      schema: ticketWriteEnvelope,
      body: { ticket: { comment } },
    });
    const event = r.audit?.events?.find((e) => e.type === 'Comment');
    return { ticketId, commentId: event?.id ?? null, auditId: r.audit?.id ?? null };
  };
  const recent = async (path: string, limit: number): Promise<ZendeskTicketSummary[]> => {
    const r = await api.request('GET', path, {
      schema: ticketsEnvelope,
      query: { sort_by: 'created_at', sort_order: 'desc', per_page: String(Math.min(100, limit)) },
    });
    return r.tickets.map((t) => ({
      id: t.id,
      subject: t.subject ?? null,
      status: t.status ?? null,
      createdAt: t.created_at ?? null,
    }));
  };
  /** Every page of a cursor-paginated list (at most 20 pages of 100). */
  const allPages = async <S extends z.ZodType<{ meta?: z.infer<typeof cursorMeta> }>, T>(
    path: string,
    schema: S,
    items: (page: z.output<S>) => T[],
  ): Promise<T[]> => {
    const out: T[] = [];
    let after: string | undefined;
    for (let page = 0; page < 20; page++) {
      const query: Record<string, string> = { 'page[size]': '100' };
      if (after) query['page[after]'] = after;
      const res = await api.request('GET', path, { schema, query });
      out.push(...items(res));
      if (!res.meta?.has_more || !res.meta.after_cursor) break;
      after = res.meta.after_cursor;
    }
    return out;
  };
  const self: ZendeskResources = {
    subdomain: api.subdomain,
    async getTicket(ticketId) {
      const r = await api.request('GET', `/api/v2/tickets/${numericId('ticket', ticketId)}.json`, {
        schema: ticketEnvelope,
        query: { include: 'users,organizations' },
      });
      const t = r.ticket;
      const user = r.users?.find((u) => u.id === t.requester_id);
      const org = r.organizations?.find((o) => o.id === t.organization_id);
      let brand: ZendeskTicket['brand'] = null;
      if (t.brand_id) {
        const b = await api.request('GET', `/api/v2/brands/${t.brand_id}.json`, { schema: brandEnvelope });
        brand = { id: String(b.brand.id), name: b.brand.name };
      }
      return {
        id: String(t.id),
        subject: t.subject ?? '',
        description: t.description ?? '',
        requester: t.requester_id
          ? { id: String(t.requester_id), name: user?.name ?? null, email: user?.email ?? null }
          : null,
        organization: org
          ? { id: String(org.id), name: org.name ?? null, fields: org.organization_fields ?? {} }
          : null,
        brand,
        recipient: t.recipient ?? null,
        via: t.via?.channel != null ? String(t.via.channel) : null,
        createdAt: t.created_at ?? null,
      };
    },
    async listComments(ticketId, opts = {}) {
      const r = await api.request('GET', `/api/v2/tickets/${numericId('ticket', ticketId)}/comments.json`, {
        schema: commentsEnvelope,
        query: { sort_order: opts.order ?? 'desc' },
      });
      return r.comments.map(toComment);
    },
    async latestPublicCommentBy(ticketId, requesterId) {
      const list = await self.listComments(ticketId, { order: 'desc' });
      return list.find((c) => c.public && c.authorId === requesterId) ?? null;
    },
    addInternalNote: (ticketId, body) => writeComment(ticketId, { body, public: false }),
    addPublicReply: (ticketId, reply) =>
      writeComment(ticketId, {
        body: reply.body,
        public: true,
        author_id: Number(numericId('author', reply.authorId)),
      }),
    recentTicketsOfUser: (userId, limit) =>
      recent(`/api/v2/users/${numericId('user', userId)}/tickets/requested.json`, limit),
    recentTicketsOfOrganization: (orgId, limit) =>
      recent(`/api/v2/organizations/${numericId('organization', orgId)}/tickets.json`, limit),

    async getWebhook(webhookId) {
      return toWebhook(
        (await api.request('GET', `/api/v2/webhooks/${seg(webhookId)}`, { schema: webhookEnvelope })).webhook,
      );
    },
    async findWebhooks(nameContains) {
      const found: ZendeskWebhook[] = [];
      let after: string | undefined;
      for (let page = 0; page < 20; page++) {
        const query: Record<string, string> = { 'filter[name_contains]': nameContains, 'page[size]': '100' };
        if (after) query['page[after]'] = after;
        const res = await api.request('GET', '/api/v2/webhooks', { schema: webhookList, query });
        found.push(...res.webhooks.map(toWebhook));
        if (!res.meta?.has_more || !res.meta.after_cursor) break;
        after = res.meta.after_cursor;
      }
      return found;
    },
    async createWebhook(def) {
      return toWebhook(
        (await api.request('POST', '/api/v2/webhooks', { schema: webhookEnvelope, body: { webhook: def } }))
          .webhook,
      );
    },
    async updateWebhookEndpoint(webhookId, endpoint) {
      await api.send('PATCH', `/api/v2/webhooks/${seg(webhookId)}`, { webhook: { endpoint } });
    },
    async deleteWebhook(webhookId) {
      await api.send('DELETE', `/api/v2/webhooks/${seg(webhookId)}`);
    },
    async getWebhookSigningSecret(webhookId) {
      const r = await api.request('GET', `/api/v2/webhooks/${seg(webhookId)}/signing_secret`, {
        schema: signingSecretEnvelope,
      });
      return r.signing_secret.secret;
    },

    async getTrigger(triggerId) {
      return toTrigger(
        (await api.request('GET', `/api/v2/triggers/${seg(triggerId)}`, { schema: triggerEnvelope })).trigger,
      );
    },
    async searchTriggers(query) {
      const r = await api.request('GET', '/api/v2/triggers/search', {
        schema: triggerList,
        query: { query },
      });
      return r.triggers.map(toTrigger);
    },
    async createTrigger(def) {
      return toTrigger(
        (await api.request('POST', '/api/v2/triggers', { schema: triggerEnvelope, body: { trigger: def } }))
          .trigger,
      );
    },
    async updateTrigger(triggerId, def) {
      await api.send('PUT', `/api/v2/triggers/${seg(triggerId)}`, { trigger: def });
    },
    async deleteTrigger(triggerId) {
      await api.send('DELETE', `/api/v2/triggers/${seg(triggerId)}`);
    },

    async revokeCurrentToken() {
      await api.send('DELETE', '/api/v2/oauth/tokens/current.json');
    },

    async uploadAppPackage(zip, filename = 'app.zip') {
      const form = new FormData();
      form.append('uploaded_data', new Blob([new Uint8Array(zip)], { type: 'application/zip' }), filename);
      const r = await api.request('POST', '/api/v2/apps/uploads.json', {
        schema: uploadEnvelope,
        body: form,
      });
      return { uploadId: r.id };
    },
    async createApp(app) {
      const r = await api.request('POST', '/api/v2/apps.json', {
        schema: jobEnvelope,
        body: {
          name: app.name,
          ...(app.shortDescription ? { short_description: app.shortDescription } : {}),
          upload_id: Number.isNaN(Number(app.uploadId)) ? app.uploadId : Number(app.uploadId),
        },
      });
      return { jobId: r.job_id };
    },
    async updateApp(appId, uploadId) {
      const r = await api.request('PUT', `/api/v2/apps/${numericId('app', appId)}.json`, {
        schema: jobEnvelope,
        body: { upload_id: Number.isNaN(Number(uploadId)) ? uploadId : Number(uploadId) },
      });
      return { jobId: r.job_id };
    },
    async getAppJobStatus(jobId) {
      const r = await api.request('GET', `/api/v2/apps/job_statuses/${seg(jobId)}`, { schema: appJobSchema });
      return { status: r.status, appId: r.app_id ?? null, message: r.message ?? null };
    },
    async installApp(install) {
      const r = await api.request('POST', '/api/v2/apps/installations.json', {
        schema: installationSchema,
        body: { app_id: Number(numericId('app', install.appId)), settings: install.settings },
      });
      return { id: r.id, appId: r.app_id, enabled: r.enabled ?? null };
    },
    async getAppInstallation(installationId) {
      const r = await api.request(
        'GET',
        `/api/v2/apps/installations/${numericId('installation', installationId)}.json`,
        { schema: installationSchema },
      );
      return { id: r.id, appId: r.app_id, enabled: r.enabled ?? null };
    },
    async listAppInstallations() {
      const r = await api.request('GET', '/api/v2/apps/installations.json', {
        schema: installationsEnvelope,
      });
      return r.installations.map((i) => ({ id: i.id, appId: i.app_id, enabled: i.enabled ?? null }));
    },
    async listOwnedApps() {
      const out: { id: string; name: string }[] = [];
      let page = 1;
      for (; page <= 20; page++) {
        const r = await api.request('GET', `/api/v2/apps/owned.json?page=${page}`, {
          schema: ownedAppsEnvelope,
        });
        out.push(...r.apps.map((a) => ({ id: a.id, name: a.name })));
        if (!r.next_page) break;
      }
      return out;
    },
    async getCurrentUser() {
      const r = await api.request('GET', '/api/v2/users/me.json', { schema: meEnvelope });
      const u = r.user;
      return {
        id: u.id,
        name: u.name ?? null,
        email: u.email ?? null,
        role: u.role ?? null,
        active: u.active !== false && u.suspended !== true,
      };
    },
    async listCustomStatuses() {
      const r = await api.request('GET', '/api/v2/custom_statuses.json', { schema: customStatusesEnvelope });
      return r.custom_statuses.map((c) => ({
        id: c.id,
        agentLabel: c.agent_label,
        category: c.status_category,
        active: c.active !== false,
      }));
    },
    listOrganizationFields: () =>
      allPages('/api/v2/organization_fields.json', organizationFieldsEnvelope, (r) =>
        r.organization_fields.map((f) => ({
          id: f.id,
          key: f.key,
          title: f.title ?? f.key,
          type: f.type ?? 'text',
          active: f.active !== false,
        })),
      ),
    listBrands: () =>
      allPages('/api/v2/brands.json', brandsEnvelope, (r) =>
        r.brands.map((b) => ({
          id: b.id,
          name: b.name,
          subdomain: b.subdomain ?? null,
          active: b.active !== false,
          isDefault: b.default === true,
        })),
      ),
    async uninstallApp(installationId) {
      await api.send(
        'DELETE',
        `/api/v2/apps/installations/${numericId('installation', installationId)}.json`,
      );
    },
    async deleteApp(appId) {
      await api.send('DELETE', `/api/v2/apps/${numericId('app', appId)}.json`);
    },
    async getAppPublicKey(appId) {
      const pem = await api.requestText(`/api/v2/apps/${numericId('app', appId)}/public_key.pem`);
      if (!/-----BEGIN PUBLIC KEY-----[\s\S]+-----END PUBLIC KEY-----/.test(pem))
        throw new AppError('upstream_error', 'Zendesk sent something that is not a PEM public key');
      return pem.trim();
    },
  };
  return self;
}
