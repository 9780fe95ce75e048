import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { parseConfig } from '../../src/config.ts';
import { drafts, jobs } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { createJobQueue } from '../../src/jobs/queue.ts';
import { createWorker } from '../../src/jobs/worker.ts';
import { randomToken } from '../../src/lib/ids.ts';
import { draftIdFor, TICKET_JOB_KIND } from '../../src/pipeline/process-ticket.ts';
import { eventKey } from '../../src/zendesk/trigger-payload.ts';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { useMsw } from '../helpers/msw.ts';
import { parseScenario, type Scenario } from '../scenario/format.ts';
import { postTicketEvent, setupScenarioPipeline } from '../scenario/run.ts';

/**
 * Several events of one ticket waiting in the queue collapse into one draft: each job first asks
 * whether a newer drafting event of its ticket has a live job, and if so completes without
 * drafting (that job reads the ticket as it stands, this event included). A Regenerate is never
 * collapsed, and a dead newer job supersedes nothing.
 */
const server = useMsw();
const base = parseScenario(
  readFileSync(new URL('../fixtures/scenarios/custom-org-field-plan-gated.json', import.meta.url), 'utf8'),
  'collapse',
);

describe.each(backends())('ticket events collapse on %s', (backend) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase(backend);
  });
  afterAll(() => database?.close());

  it('three queued comments of one ticket give one draft and one note, of the newest; a Regenerate still drafts', async () => {
    const s: Scenario = structuredClone(base);
    s.tenant.zendeskSubdomain = `collapse-${randomToken(4)
      .toLowerCase()
      .replace(/[^a-z0-9]/g, '')}`;
    const p = await setupScenarioPipeline(s, { database, server });
    const app = createApp({
      config: parseConfig({ LOG_LEVEL: 'silent', PUBLIC_URL: 'https://copilot.collapse.test' }),
      database,
      vault: p.vault,
      logger: p.logger,
      now: p.clock,
      tokens: p.tokens,
      queue: createJobQueue(),
    });
    const bodies = [1, 2, 3].map((n) => ({
      ticket_id: String(s.ticket.id),
      event: 'comment_added' as const,
      updated_at: `2026-11-20T10:0${n}:00Z`,
    }));
    for (const b of bodies) {
      // A second apart, as Zendesk would send them (the newest is the one received last).
      p.now.setTime(p.now.getTime() + 1000);
      const res = await postTicketEvent(app, p, b, p.now);
      expect(res.status).toBe(200);
    }
    // An agent's Regenerate of the same ticket, queued after them: drafted regardless.
    const [conn] = await withTenant(database.db, p.tenantId, (tx) => tx.select().from(jobs));
    await withTenant(database.db, p.tenantId, (tx) =>
      createJobQueue().enqueue(tx, p.tenantId, {
        kind: TICKET_JOB_KIND,
        dedupeKey: 'regen-1',
        payload: {
          ...(conn!.payload as Record<string, unknown>),
          invocationId: 'regen',
          eventKey: 'regen-1',
          instruction: 'shorter',
        },
      }),
    );
    const worker = createWorker({
      database,
      logger: p.logger,
      handlers: { [TICKET_JOB_KIND]: p.handler },
      perTenantConcurrency: 1,
    });
    await worker.runUntilIdle({ timeoutMs: 30_000 });
    const rows = await withTenant(database.db, p.tenantId, (tx) => tx.select().from(drafts));
    const newest = await draftIdFor(p.tenantId, s.ticket.id.toString(), eventKey(bodies[2]!));
    const older = await Promise.all(
      bodies.slice(0, 2).map((b) => draftIdFor(p.tenantId, s.ticket.id.toString(), eventKey(b))),
    );
    const regen = await draftIdFor(p.tenantId, s.ticket.id.toString(), 'regen-1');
    expect(rows.map((r) => r.id).sort()).toEqual([newest, regen].sort());
    for (const id of older) expect(rows.some((r) => r.id === id)).toBe(false);
    expect(p.notes.filter((n) => !n.public)).toHaveLength(2);
    const all = await withTenant(database.db, p.tenantId, (tx) => tx.select().from(jobs));
    expect(all).toHaveLength(4);
    expect(all.every((j) => j.status === 'done')).toBe(true);
  });
});
