import { SQL, sql } from 'drizzle-orm';
import { AppError } from '../lib/errors.ts';
import { isTenantId } from '../lib/ids.ts';
import { claimKeyOf, signEnterClaim } from './claims.ts';
import type { Db, Tx } from './client.ts';
import { APP_ROLE } from './schema/columns.ts';

/**
 * The only way services reach tenant-owned data. Runs `fn` in a transaction that first, in one
 * statement, presents a claim signed by the application (`app_enter_tenant`, migration 0006: the
 * database verifies the HMAC and sets a claim bound to this transaction) and switches to the
 * non-owner application role (`set_config('role', ..., true)` is SET LOCAL ROLE). Row-level
 * security (enabled and forced on every tenant-owned table) compares rows with
 * `app_current_tenant()`, which trusts only that verified claim: SQL in the transaction can change
 * settings and roles as it likes and still sees only this tenant. Everything is transaction-local.
 */
export async function withTenant<T>(db: Db, tenantId: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
  if (!isTenantId(tenantId)) throw new AppError('internal', 'withTenant needs a valid tenant id');
  const claim = signEnterClaim(claimKeyOf(db), tenantId);
  return db.transaction(async (tx) => {
    // One round trip. The claim is entered before the role switch (left to right), so on a
    // superuser connection (PGlite) it runs with the connection's own rights either way.
    await tx.execute(
      sql`select public.app_enter_tenant(${tenantId}, ${claim.issued}::bigint, ${claim.nonce}, ${claim.mac}), set_config('role', ${APP_ROLE}, true)`,
    );
    return fn(tx);
  });
}

/**
 * One statement for the pipelined tenant paths below: fixed text with `$n` placeholders (so
 * PostgreSQL prepares it once per connection) and its parameters. Values are never spliced into
 * the text.
 */
export interface Statement {
  text: string;
  params: unknown[];
}

/** Statements to run under one tenant's claim, in order. */
export interface TenantStatements {
  tenantId: string;
  statements: Statement[];
}

/** The opening statement withTenant sends, as a fixed text (claim verified, then the role switch). */
const ENTER_TEXT = `select public.app_enter_tenant($1, $2::bigint, $3, $4), set_config('role', '${APP_ROLE}', true)`;

function enterStatement(db: Db, tenantId: string): Statement {
  if (!isTenantId(tenantId)) throw new AppError('internal', 'a tenant transaction needs a valid tenant id');
  const c = signEnterClaim(claimKeyOf(db), tenantId);
  return { text: ENTER_TEXT, params: [tenantId, c.issued, c.nonce, c.mac] };
}

type Rows = Record<string, unknown>[];
const PREPARED = { prepare: true };

interface PgReserved {
  unsafe(
    text: string,
    params?: unknown[],
    opts?: { prepare?: boolean },
  ): Promise<Rows & { command?: string }>;
  release(): void;
}
interface PgClient {
  reserve(): Promise<PgReserved>;
}
interface PgliteClient {
  transaction<T>(
    fn: (t: { query(text: string, params?: unknown[]): Promise<{ rows: Rows }> }) => Promise<T>,
  ): Promise<T>;
}

/**
 * Runs groups of statements, each group under its own tenant's claim, in ONE transaction:
 * `begin`, then per group the claim (`app_enter_tenant`, the same signed claim and role switch as
 * withTenant) and its statements, then `commit`. Returns each statement's rows, by group.
 *
 * On PostgreSQL every message is written at once on one reserved connection (postgres.js
 * pipelines queries that are not awaited one by one), so the transaction costs one round trip
 * instead of one per statement; nothing is reported before `commit` has answered COMMIT, so a
 * caller that acknowledges after this returns acknowledges only what is durable. If any statement
 * fails, PostgreSQL refuses the rest of the transaction (25P02) and answers the `commit` with
 * ROLLBACK: this throws the first error, and nothing of any group was stored. Isolation is what
 * withTenant gives: every policy compares rows with the claim in force when the statement runs,
 * and a later group's claim replaces the earlier one (a group sees only its own tenant). On the
 * embedded database (one in-process connection, no round trips to save) it is a plain
 * transaction running the same statements one by one.
 */
export async function tenantTransaction(
  db: Db,
  groups: TenantStatements[],
  opts: { readOnly?: boolean } = {},
): Promise<Rows[][]> {
  const enters = groups.map((g) => enterStatement(db, g.tenantId));
  const client = (db as unknown as { $client: unknown }).$client;
  if (typeof (client as PgClient).reserve === 'function') {
    const conn = await (client as PgClient).reserve();
    try {
      const sent: Promise<Rows & { command?: string }>[] = [
        conn.unsafe(opts.readOnly ? 'begin read only' : 'begin'),
      ];
      const at: number[][] = [];
      groups.forEach((g, i) => {
        const e = enters[i]!;
        // Prepared (named, once per connection): from then on each is Bind/Execute only, and
        // nothing waits for a Describe, so the whole transaction goes out in one write.
        sent.push(conn.unsafe(e.text, e.params, PREPARED));
        at.push(g.statements.map((s) => sent.push(conn.unsafe(s.text, s.params, PREPARED)) - 1));
      });
      sent.push(conn.unsafe('commit'));
      const settled = await Promise.allSettled(sent);
      const failed = settled.find((s) => s.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
      const done = settled as PromiseFulfilledResult<Rows & { command?: string }>[];
      const commit = done[done.length - 1]!.value;
      if (commit.command !== 'COMMIT')
        throw new AppError('internal', `the tenant transaction ended in ${commit.command ?? 'nothing'}`);
      return at.map((idx) => idx.map((i) => done[i]!.value));
    } finally {
      conn.release();
    }
  }
  return (client as PgliteClient).transaction(async (t) => {
    if (opts.readOnly) await t.query('set transaction read only');
    const out: Rows[][] = [];
    for (const [i, g] of groups.entries()) {
      const e = enters[i]!;
      await t.query(e.text, e.params);
      const rows: Rows[] = [];
      for (const s of g.statements) rows.push((await t.query(s.text, s.params)).rows);
      out.push(rows);
    }
    return out;
  });
}

/**
 * A read-only tenant read in one round trip on PostgreSQL: `begin read only`, the claim, the
 * query and `commit` written together (see tenantTransaction). Same isolation as withTenant (the
 * runtime role switched to helpdesk_app, the signed claim, row-level security); for reads that
 * are one statement. Returns the rows with the database's column names.
 */
export async function withTenantRead<T = Record<string, unknown>>(
  db: Db,
  tenantId: string,
  query: Statement | SQL,
): Promise<T[]> {
  const statement =
    query instanceof SQL
      ? (() => {
          const q = (
            db as unknown as { dialect: { sqlToQuery(s: SQL): { sql: string; params: unknown[] } } }
          ).dialect.sqlToQuery(query);
          return { text: q.sql, params: q.params };
        })()
      : query;
  const [[rows]] = (await tenantTransaction(db, [{ tenantId, statements: [statement] }], {
    readOnly: true,
  })) as [[T[]]];
  return rows;
}

/**
 * How a kind of submission is grouped: one statement for one tenant's submissions (in arrival
 * order), and each submission's result from that statement's rows.
 */
export interface GroupCommitSpec<I, R> {
  statement(tenantId: string, items: I[]): Statement;
  results(rows: Rows, items: I[]): R[];
}

/** Group commit: submissions that arrive close together share one transaction. */
export interface GroupCommit<I, R> {
  /** Stores `item` under `tenantId`'s claim; resolves with its result once its transaction committed. */
  submit(tenantId: string, item: I): Promise<R>;
}

interface Pending<I, R> {
  tenantId: string;
  item: I;
  resolve(r: R): void;
  reject(e: unknown): void;
}

/**
 * Group commit for ingest. Submissions are collected until the event loop has handled the I/O
 * that is ready (setImmediate: the requests that arrived together) and, while `maxInFlight`
 * batches are already running, until one finishes; then up to `maxBatch` of them run in one
 * tenantTransaction: per tenant, its claim and ONE statement for all of that tenant's
 * submissions (`spec.statement`). Each submission resolves only after that transaction answered
 * COMMIT, so nothing is acknowledged before it is durable. If the shared transaction fails, each
 * of its submissions is run again in a transaction of its own, so one bad submission fails only
 * itself (the statements must be safe to run again after a rollback: ours are inserts that
 * dedupe).
 */
export function createGroupCommit<I, R>(
  db: Db,
  spec: GroupCommitSpec<I, R>,
  opts: {
    maxBatch?: number;
    maxInFlight?: number;
    /** Called with each batch's size before it runs (tests, benchmarks). */
    onBatch?: (size: number) => void;
  } = {},
): GroupCommit<I, R> {
  const maxBatch = opts.maxBatch ?? 64;
  const maxInFlight = opts.maxInFlight ?? 2;
  let queue: Pending<I, R>[] = [];
  let inFlight = 0;
  let scheduled = false;

  const schedule = () => {
    if (scheduled || queue.length === 0 || inFlight >= maxInFlight) return;
    scheduled = true;
    setImmediate(flush);
  };

  async function runGroups(groups: Pending<I, R>[][]) {
    const items = groups.map((g) => g.map((p) => p.item));
    const out = await tenantTransaction(
      db,
      groups.map((g, i) => ({
        tenantId: g[0]!.tenantId,
        statements: [spec.statement(g[0]!.tenantId, items[i]!)],
      })),
    );
    return groups.map((_, i) => spec.results(out[i]![0]!, items[i]!));
  }

  async function runOne(p: Pending<I, R>) {
    try {
      const [[r]] = (await runGroups([[p]])) as [[R]];
      p.resolve(r);
    } catch (e) {
      p.reject(e);
    }
  }

  async function run(batch: Pending<I, R>[]) {
    opts.onBatch?.(batch.length);
    if (batch.length === 1) return runOne(batch[0]!);
    const byTenant = new Map<string, Pending<I, R>[]>();
    for (const p of batch) {
      const g = byTenant.get(p.tenantId);
      if (g) g.push(p);
      else byTenant.set(p.tenantId, [p]);
    }
    const groups = [...byTenant.values()];
    let results: R[][];
    try {
      results = await runGroups(groups);
    } catch {
      // Nothing of the batch was stored: each submission on its own, so only a bad one fails.
      await Promise.all(batch.map(runOne));
      return;
    }
    for (const [i, g] of groups.entries()) for (const [j, p] of g.entries()) p.resolve(results[i]![j]!);
  }

  function flush() {
    scheduled = false;
    while (queue.length > 0 && inFlight < maxInFlight) {
      const batch = queue.slice(0, maxBatch);
      queue = queue.slice(maxBatch);
      inFlight++;
      void run(batch).finally(() => {
        inFlight--;
        schedule();
      });
    }
  }

  return {
    submit(tenantId, item) {
      if (!isTenantId(tenantId))
        return Promise.reject(new AppError('internal', 'group commit needs a valid tenant id'));
      return new Promise<R>((resolve, reject) => {
        queue.push({ tenantId, item, resolve, reject });
        schedule();
      });
    },
  };
}
