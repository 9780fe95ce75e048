import { HttpResponse, http, type RequestHandler } from 'msw';

/**
 * A fake Slack Web API at https://slack.com/api/{method} for msw: records every call (method,
 * bearer token, arguments decoded from the form or JSON body; JSON-looking form values parsed)
 * and answers the methods the copilot uses. Unknown methods answer `unknown_method`, so a test
 * sees a call it did not expect. `users`, `sharedChannels` and `channels` drive users.info,
 * conversations.info and conversations.list; `failNext` makes the next call of a method answer an HTTP status.
 */
export interface SlackApiCall {
  method: string;
  auth: string | null;
  args: Record<string, unknown>;
}

export interface FakeSlackUser {
  id: string;
  team_id: string;
  email?: string;
  is_email_confirmed?: boolean;
  is_admin?: boolean;
}

export interface FakeSlackApi {
  handlers: RequestHandler[];
  calls: SlackApiCall[];
  users: Map<string, FakeSlackUser>;
  sharedChannels: Set<string>;
  /** conversations.list: channel id -> name. */
  channels: Map<string, string>;
  failNext: Map<string, { status: number; headers?: Record<string, string> }>;
  of(method: string): SlackApiCall[];
  reset(): void;
}

const KNOWN = new Set([
  'chat.postMessage',
  'chat.postEphemeral',
  'chat.update',
  'chat.startStream',
  'chat.appendStream',
  'chat.stopStream',
  'assistant.threads.setStatus',
  'assistant.threads.setSuggestedPrompts',
  'views.open',
]);

function decode(text: string, contentType: string | null): Record<string, unknown> {
  if (contentType?.includes('json')) return JSON.parse(text) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of new URLSearchParams(text)) {
    if (/^[[{]/.test(v)) {
      try {
        out[k] = JSON.parse(v);
        continue;
      } catch {}
    }
    out[k] = v;
  }
  return out;
}

export function fakeSlackApi(): FakeSlackApi {
  let seq = 0;
  const fake: FakeSlackApi = {
    handlers: [],
    calls: [],
    users: new Map(),
    sharedChannels: new Set(),
    channels: new Map(),
    failNext: new Map(),
    of: (method) => fake.calls.filter((c) => c.method === method),
    reset() {
      fake.calls.length = 0;
      fake.failNext.clear();
    },
  };
  fake.handlers = [
    http.post('https://slack.com/api/:method', async ({ request, params }) => {
      const method = String(params.method);
      const args = decode(await request.text(), request.headers.get('content-type'));
      fake.calls.push({ method, auth: request.headers.get('authorization'), args });
      const fail = fake.failNext.get(method);
      if (fail) {
        fake.failNext.delete(method);
        return new HttpResponse(null, { status: fail.status, headers: fail.headers ?? {} });
      }
      if (method === 'users.info') {
        const u = fake.users.get(String(args.user));
        if (!u) return HttpResponse.json({ ok: false, error: 'user_not_found' });
        return HttpResponse.json({
          ok: true,
          user: {
            id: u.id,
            team_id: u.team_id,
            is_admin: u.is_admin ?? false,
            is_email_confirmed: u.is_email_confirmed ?? false,
            profile: u.email ? { email: u.email } : {},
          },
        });
      }
      if (method === 'conversations.info') {
        const id = String(args.channel);
        return HttpResponse.json({ ok: true, channel: { id, is_ext_shared: fake.sharedChannels.has(id) } });
      }
      if (method === 'conversations.list') {
        return HttpResponse.json({
          ok: true,
          channels: [...fake.channels].map(([id, name]) => ({ id, name, is_private: id.startsWith('G') })),
          response_metadata: { next_cursor: '' },
        });
      }
      if (!KNOWN.has(method)) return HttpResponse.json({ ok: false, error: 'unknown_method' });
      const ts = `1700000100.${String(++seq).padStart(6, '0')}`;
      return HttpResponse.json({ ok: true, channel: args.channel, ts });
    }),
  ];
  return fake;
}
