import { readFileSync } from 'node:fs';
import { HttpResponse, http } from 'msw';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents, drafts } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import type { JobContext } from '../../src/jobs/types.ts';
import { createFallbackDrafter } from '../../src/pipeline/drafting/fallback.ts';
import { createOpenAiDrafter } from '../../src/pipeline/drafting/openai.ts';
import { processTicketJob } from '../../src/pipeline/process-ticket.ts';
import { updateSettings } from '../../src/pipeline/tenant-config.ts';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { useMsw } from '../helpers/msw.ts';
import { parseScenario } from '../scenario/format.ts';
import { contextApiHandler, setupScenarioPipeline, zendeskHandlers } from '../scenario/run.ts';

/**
 * A tenant's usage ceilings (settings `limits`): at a ceiling the ticket is still drafted, by the
 * offline drafter with no model call, and the note, the draft and the audit trail say why; under
 * it the model drafts. The model API is mocked at the network.
 */
const BASE = 'https://llm-quota.test/v1';
const server = useMsw();
const scenario = parseScenario(
  readFileSync(new URL('../fixtures/scenarios/custom-org-field-plan-gated.json', import.meta.url), 'utf8'),
  'quota',
);

describe.each(backends())('tenant limits on %s', (backend) => {
  let database: TestDatabase;
  let p: Awaited<ReturnType<typeof setupScenarioPipeline>>;
  let modelCalls = 0;
  let seq = 0;
  const handlers = [
    http.post(`${BASE}/chat/completions`, () => {
      modelCalls++;
      return HttpResponse.json({
        id: 'c',
        object: 'chat.completion',
        created: 1,
        model: 'gpt-4.1-mini',
        choices: [
          {
            index: 0,
            finish_reason: 'stop',
            message: {
              role: 'assistant',
              content: JSON.stringify({
                reply: 'Model reply.',
                citedFactIds: ['ctx:plan'],
                confidence: 0.8,
                needsHumanReason: null,
              }),
            },
          },
        ],
        usage: { prompt_tokens: 1200, completion_tokens: 300, total_tokens: 1500 },
      });
    }),
  ];
  const ticket = async () => {
    const n = ++seq;
    // msw drops handlers after each test: the scenario's Zendesk and Context API again, and the model.
    server.use(
      ...handlers,
      ...zendeskHandlers(scenario, p.notes),
      contextApiHandler(scenario, p.contextUrl, p.contextSecret, p.contextCalls),
    );
    const job: JobContext = {
      tenantId: p.tenantId,
      jobId: `job_q${n}`,
      kind: 'zendesk.ticket',
      attempt: 1,
      maxAttempts: 3,
      signal: new AbortController().signal,
      payload: {
        connectionId: p.connectionId,
        ticketId: String(scenario.ticket.id),
        event: 'comment_added',
        invocationId: `inv-q${n}`,
        eventKey: `${scenario.ticket.id}:comment_added:q${n}`,
      },
    };
    const notesBefore = p.notes.length;
    const r = await processTicketJob(p.deps, job);
    const [draft] = await withTenant(database.db, p.tenantId, (tx) =>
      tx
        .select()
        .from(drafts)
        .then((ds) => ds.filter((d) => d.id === r.draftId)),
    );
    return { draft: draft!, note: p.notes.slice(notesBefore).at(-1)?.body ?? '' };
  };
  const limits = (l: Record<string, number> | undefined) =>
    withTenant(database.db, p.tenantId, (tx) =>
      updateSettings({ tenantId: p.tenantId, tx, actor: { type: 'cli', name: 'test' } }, { limits: l ?? {} }),
    );

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    const drafter = createFallbackDrafter(createOpenAiDrafter({ apiKey: 'sk-quota', baseURL: BASE }));
    p = await setupScenarioPipeline(scenario, { database, server, drafter, handlers });
  });
  afterAll(() => database?.close());

  it('without limits, and under them, the model drafts', async () => {
    const first = await ticket();
    expect(first.draft.drafter).toBe('openai');
    await limits({ modelTokensPerMonth: 10_000, draftsPerDay: 100, modelCostUsdPerMonth: 5 });
    const second = await ticket();
    expect(second.draft.drafter).toBe('openai');
    expect(modelCalls).toBe(2);
  });

  it('at the monthly token limit: the offline drafter writes it, no model call, and the note and audit say why', async () => {
    // 3,000 tokens spent this month so far.
    await limits({ modelTokensPerMonth: 3_000 });
    const calls = modelCalls;
    const { draft, note } = await ticket();
    expect(modelCalls).toBe(calls);
    expect(draft.drafter).toBe('offline');
    expect(draft.needsHumanReason).toContain('monthly model token limit (3000 of 3000)');
    expect(note).toContain(
      'Written by the offline drafter because this tenant reached its monthly model token limit',
    );
    const events = await withTenant(database.db, p.tenantId, (tx) => tx.select().from(auditEvents));
    expect(events.find((e) => e.action === 'quota.enforced' && e.target === draft.id)).toMatchObject({
      outcome: 'success',
      detail: { limit: 'modelTokensPerMonth', value: 3_000, used: 3_000, drafter: 'offline' },
    });
  });

  it('the daily draft limit and the monthly cost limit work alike; raising the limit restores the model', async () => {
    await limits({ draftsPerDay: 3 });
    const byDrafts = await ticket();
    expect(byDrafts.draft.drafter).toBe('offline');
    expect(byDrafts.note).toContain('daily draft limit');
    // Each model answer here costs 960 micro-USD (1,200 + 300 tokens of gpt-4.1-mini): 0.001 USD is reached.
    await limits({ modelCostUsdPerMonth: 0.001 });
    const byCost = await ticket();
    expect(byCost.draft.drafter).toBe('offline');
    expect(byCost.note).toContain('monthly model cost limit');
    await limits({ modelCostUsdPerMonth: 100 });
    const calls = modelCalls;
    expect((await ticket()).draft.drafter).toBe('openai');
    expect(modelCalls).toBe(calls + 1);
  });

  it('limits are validated like every setting: a negative or unknown limit is refused and nothing changes', async () => {
    await expect(limits({ draftsPerDay: -1 })).rejects.toThrow();
    await expect(limits({ tokensPerYear: 5 } as Record<string, number>)).rejects.toThrow();
  });
});
