import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { uninstallListeners } from '../../src/http/slack-events.ts';
import {
  COMMAND_SCOPES,
  COPILOT_COMMAND,
  EVENT_SCOPES,
  METHOD_SCOPES,
  SLACK_EVENTS,
  SLACK_REQUEST_PATHS,
  SLACK_SHORTCUTS,
} from '../../src/slack/contract.ts';
import { testApp, testConfig } from '../helpers/app.ts';
import { createTestDatabase } from '../helpers/db.ts';

/**
 * manifest.json against Slack's published JSON schema (slackapi/manifest-schema, MIT; a copy in
 * test/fixtures/slack-manifest-schema/ with its LICENSE), then against the code: events,
 * scopes, command and request URLs must be exactly what the code uses.
 *
 * Validator: zod's `z.fromJSONSchema` (zod is already a dependency; no JSON-schema package
 * added). The negative cases below prove it enforces what matters here
 * (`additionalProperties: false`, lengths, patterns, required fields).
 */
const root = new URL('../../', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('manifest.json', root), 'utf8')) as {
  features: {
    agent_view?: { suggested_prompts?: unknown[] };
    assistant_view?: unknown;
    slash_commands?: { command: string; url: string }[];
    shortcuts?: { type: string; callback_id: string }[];
  };
  oauth_config: { scopes: { bot: string[] } };
  settings: {
    event_subscriptions: { request_url: string; bot_events: string[] };
    interactivity: { is_enabled: boolean; request_url?: string };
  };
};
const schema = z.fromJSONSchema(
  JSON.parse(
    readFileSync(new URL('test/fixtures/slack-manifest-schema/manifest.schema.2.0.0.json', root), 'utf8'),
  ),
);

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('manifest.json', () => {
  it("is valid against Slack's manifest schema, and the validator refuses broken manifests", () => {
    const r = schema.safeParse(manifest);
    expect(r.success, JSON.stringify(r.error?.issues?.slice(0, 3))).toBe(true);
    // biome-ignore lint/suspicious/noExplicitAny: editing a copy of a JSON document
    type Json = Record<string, any>;
    const broken = (f: (m: Json) => void) => {
      const m = structuredClone(manifest) as Json;
      f(m);
      return schema.safeParse(m).success;
    };
    expect(broken((m) => (m.settings.unknown_setting = true))).toBe(false);
    expect(broken((m) => (m.display_information.name = 'x'.repeat(36)))).toBe(false);
    expect(
      broken((m) => (m.settings.event_subscriptions.request_url = 'ftp://copilot.example.com/slack/events')),
    ).toBe(false);
    expect(broken((m) => delete m.settings.interactivity.is_enabled)).toBe(false);
    expect(
      broken((m) => (m.features.agent_view.suggested_prompts = Array(5).fill({ title: 't', message: 'm' }))),
    ).toBe(false);
  });

  it('uses the agent messaging experience, not the legacy assistant view', () => {
    expect(manifest.features.agent_view).toBeDefined();
    expect(manifest.features.assistant_view).toBeUndefined();
  });

  it('subscribes to exactly the events the code listens to', () => {
    expect(Object.keys(uninstallListeners).sort()).toEqual([...SLACK_EVENTS.lifecycle].sort());
    expect([...manifest.settings.event_subscriptions.bot_events].sort()).toEqual(
      [...SLACK_EVENTS.questions, ...SLACK_EVENTS.lifecycle].sort(),
    );
  });

  it('asks for exactly the bot scopes the events, command and called methods need', () => {
    // Every Web API method called in src/slack (the job clients' `call('method', ...)`) is declared.
    const called = new Set<string>();
    for (const f of sources(new URL('src/slack', root).pathname)) {
      for (const m of readFileSync(f, 'utf8').matchAll(/\.call\(\s*'([a-z]+(?:\.[A-Za-z]+)+)'/g))
        called.add(m[1]!);
    }
    expect([...called].sort()).toEqual(Object.keys(METHOD_SCOPES).sort());
    const needed = new Set<string>([
      ...manifest.settings.event_subscriptions.bot_events.flatMap(
        (e) => EVENT_SCOPES[e] ?? [`unknown event ${e}`],
      ),
      ...Object.values(METHOD_SCOPES).flat(),
      ...COMMAND_SCOPES,
    ]);
    expect([...manifest.oauth_config.scopes.bot].sort()).toEqual([...needed].sort());
  });

  it('declares exactly the shortcuts the interaction handler answers', () => {
    expect(manifest.features.shortcuts?.map((s) => [s.type, s.callback_id])).toEqual(
      Object.values(SLACK_SHORTCUTS).map((id) => ['global', id]),
    );
    const handler = readFileSync(new URL('src/slack/interactions.ts', root), 'utf8');
    for (const key of Object.keys(SLACK_SHORTCUTS)) expect(handler).toContain(`SLACK_SHORTCUTS.${key}`);
  });

  it('declares the one command and request URLs our routes serve and verify', async () => {
    expect(manifest.features.slash_commands?.map((c) => c.command)).toEqual([COPILOT_COMMAND]);
    expect(manifest.settings.interactivity.is_enabled).toBe(true);
    const urls = [
      manifest.settings.event_subscriptions.request_url,
      manifest.settings.interactivity.request_url!,
      ...(manifest.features.slash_commands ?? []).map((c) => c.url),
    ];
    const paths = urls.map((u) => new URL(u).pathname);
    expect(paths.sort()).toEqual(Object.values(SLACK_REQUEST_PATHS).sort());
    const database = await createTestDatabase('pglite');
    try {
      const { app } = testApp(database, { config: testConfig({ SLACK_SIGNING_SECRET: 'manifest-secret' }) });
      for (const path of paths) {
        // Served, and refused unsigned (not a 404).
        const res = await app.request(path, {
          method: 'POST',
          body: 'payload=%7B%7D',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        });
        expect(res.status, path).toBe(401);
      }
    } finally {
      await database.close();
    }
  }, 180_000);
});
