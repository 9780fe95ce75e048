import { readFileSync } from 'node:fs';
import { HttpResponse, http } from 'msw';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drafts } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import type { JobContext } from '../../src/jobs/types.ts';
import { createFallbackDrafter } from '../../src/pipeline/drafting/fallback.ts';
import { draftOffline } from '../../src/pipeline/drafting/offline.ts';
import { createOpenAiDrafter } from '../../src/pipeline/drafting/openai.ts';
import { buildDraftPrompt } from '../../src/pipeline/drafting/prompt.ts';
import { processTicketJob } from '../../src/pipeline/process-ticket.ts';
import { updateSettings } from '../../src/pipeline/tenant-config.ts';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { draftInput } from '../helpers/draft-input.ts';
import { useMsw } from '../helpers/msw.ts';
import { parseScenario, type Scenario } from '../scenario/format.ts';
import { setupScenarioPipeline } from '../scenario/run.ts';

/**
 * A tenant's own model account: with its key and base URL set (drafting settings), its ticket's
 * model call goes to that URL with that bearer key, in its reply language; another tenant's call
 * still goes to the server's default URL with the server's key.
 */
const SERVER_BASE = 'https://llm.server.test/v1';
const SERVER_KEY = 'sk-server-default-key';
const TENANT_BASE = 'https://llm.tenant-a.example/v1';
const TENANT_KEY = 'sk-tenant-a-own-key-123';
const server = useMsw();
const fixture = (name: string): Scenario =>
  parseScenario(readFileSync(new URL(`../fixtures/scenarios/${name}.json`, import.meta.url), 'utf8'), name);

interface Call {
  base: string;
  authorization: string | null;
  model: string;
  system: string;
}

const answer = (model: string) =>
  HttpResponse.json({
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 1,
    model,
    choices: [
      {
        index: 0,
        finish_reason: 'stop',
        message: {
          role: 'assistant',
          content: JSON.stringify({
            reply: 'Hallo, hier ist die Antwort.',
            citedFactIds: ['ctx:plan'],
            confidence: 0.7,
            needsHumanReason: null,
          }),
        },
      },
    ],
    usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
  });

describe.each(backends())("a tenant's own model account on %s", (backend) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase(backend);
  });
  afterAll(() => database?.close());

  it("sends tenant A's model call to its URL with its key, and tenant B's to the server default", async () => {
    const calls: Call[] = [];
    const record = (base: string) =>
      http.post(`${base}/chat/completions`, async ({ request }) => {
        const body = (await request.json()) as {
          model: string;
          messages: { role: string; content: string }[];
        };
        calls.push({
          base,
          authorization: request.headers.get('authorization'),
          model: body.model,
          system: body.messages.find((m) => m.role === 'system')?.content ?? '',
        });
        return answer(body.model);
      });
    const drafter = createFallbackDrafter(createOpenAiDrafter({ apiKey: SERVER_KEY, baseURL: SERVER_BASE }));
    const base = fixture('custom-org-field-plan-gated');
    const setup = (suffix: string) =>
      setupScenarioPipeline(
        {
          ...base,
          tenant: { ...base.tenant, zendeskSubdomain: `${base.tenant.zendeskSubdomain}-${suffix}` },
        },
        { database, server, drafter, handlers: [record(SERVER_BASE), record(TENANT_BASE)] },
      );
    const a = await setup('own');
    const b = await setup('dflt');
    await withTenant(database.db, a.tenantId, (tx) =>
      updateSettings(
        { tenantId: a.tenantId, tx, actor: { type: 'system', name: 'test' } },
        { drafting: { model: 'my-model', baseUrl: TENANT_BASE, apiKey: TENANT_KEY, replyLanguage: 'de' } },
        { vault: a.vault, urlPolicy: { allowPrivate: false, resolver: async () => ['93.184.216.34'] } },
      ),
    );
    const job = (p: typeof a): JobContext => ({
      tenantId: p.tenantId,
      jobId: `job_${p.tenantId}`,
      kind: 'zendesk.ticket',
      attempt: 1,
      signal: new AbortController().signal,
      payload: {
        connectionId: p.connectionId,
        ticketId: String(base.ticket.id),
        event: 'ticket_created',
        invocationId: 'i',
      },
    });
    await processTicketJob(a.deps, job(a));
    await processTicketJob(b.deps, job(b));

    expect(calls).toHaveLength(2);
    expect(calls[0]).toMatchObject({
      base: TENANT_BASE,
      authorization: `Bearer ${TENANT_KEY}`,
      model: 'my-model',
    });
    expect(calls[0]!.system).toContain('write the reply in German, whatever the ticket');
    expect(calls[1]).toMatchObject({
      base: SERVER_BASE,
      authorization: `Bearer ${SERVER_KEY}`,
      model: 'gpt-4.1-mini',
    });
    expect(calls[1]!.system).not.toContain('whatever the ticket');
    for (const p of [a, b]) {
      const [draft] = await withTenant(database.db, p.tenantId, (tx) => tx.select().from(drafts));
      expect(draft?.drafter).toBe('openai');
    }
  });
});

describe('reply language', () => {
  const english = draftInput(
    'Where is my invoice?',
    'Hello, I cannot find the invoice for this month in the portal.',
    [],
  );
  it("a fixed language wins over the ticket's in both drafters; auto follows the ticket", () => {
    expect(draftOffline(english).language).toBe('en');
    expect(draftOffline({ ...english, replyLanguage: 'auto' }).language).toBe('en');
    expect(draftOffline({ ...english, replyLanguage: 'fr' }).language).toBe('fr');
    expect(buildDraftPrompt({ ...english, replyLanguage: 'fr' }).system).toContain(
      'write the reply in French',
    );
    expect(buildDraftPrompt(english).system).toContain('write the reply in English');
  });
});
