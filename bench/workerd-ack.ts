/**
 * Webhook ack latency, local workerd against Node, same machine and same PostgreSQL database.
 *
 *   npm run bench:workerd                      # N=300 sequential signed webhooks per runtime, 3 rounds
 *   N=300 REPEAT=3 GAP_MS=20 node bench/workerd-ack.ts
 *
 * Node: the real app on @hono/node-server in a child process (bench/webhook-server.ts, no worker).
 * workerd: the `wrangler deploy --dry-run` bundle on Miniflare (test/workerd/harness.ts) with the
 * database as its Hyperdrive binding; each webhook's job then runs in waitUntil, its Zendesk calls
 * answered 503 by a stub at the Worker's outbound fetch (so the job fails fast and is retried later:
 * post-ack work, as in production, without a pipeline's length). Both are measured from this
 * process with fetch over loopback HTTP, one request at a time with GAP_MS between them, so the
 * numbers are service time, not queueing. Rounds alternate the runtimes to spread machine noise.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { bundleWorker, startWorker } from '../test/workerd/harness.ts';
import {
  createBenchDatabase,
  createTenants,
  median,
  percentile,
  prepareRequest,
  round,
  startServer,
} from './webhook-harness.ts';

const N = Number(process.env.N ?? 300);
const REPEAT = Number(process.env.REPEAT ?? 3);
const GAP_MS = Number(process.env.GAP_MS ?? 20);
const WARMUP = 30;

const db = await createBenchDatabase();
const tenants = await createTenants(db, 3);
let nextTicket = 1;

async function measure(base: string, n: number): Promise<{ ms: number[]; non200: number }> {
  const ms: number[] = [];
  let non200 = 0;
  for (let i = 0; i < n; i++) {
    const t = tenants[i % tenants.length]!;
    const req = await prepareRequest(t, nextTicket++);
    const start = performance.now();
    const res = await fetch(`${base}/webhooks/zendesk/${t.hookId}`, {
      method: 'POST',
      body: req.body,
      headers: req.headers,
    });
    await res.arrayBuffer();
    const took = performance.now() - start;
    if (res.status === 200) ms.push(took);
    else non200++;
    await new Promise((r) => setTimeout(r, GAP_MS));
  }
  return { ms, non200 };
}

const bundle = await bundleWorker();
const gzip = gzipSync(readFileSync(join(bundle.dir, 'worker.js'))).length;
const node = await startServer(db);
const mf = await startWorker({
  bundle,
  databaseUrl: db.url,
  bindings: {
    PUBLIC_URL: 'https://copilot.example.com',
    ENCRYPTION_KEY: db.encryptionKey,
    LOG_LEVEL: 'error',
  },
  outbound: () => Response.json({ error: 'bench stub' }, { status: 503 }),
});
const targets = {
  node: `http://127.0.0.1:${node.port}`,
  workerd: (await mf.ready).toString().replace(/\/$/, ''),
};

const rows: Record<string, unknown>[] = [];
try {
  for (const base of Object.values(targets)) await measure(base, WARMUP);
  for (let r = 1; r <= REPEAT; r++) {
    for (const [runtime, base] of r % 2 ? Object.entries(targets) : Object.entries(targets).reverse()) {
      const { ms, non200 } = await measure(base, N);
      rows.push({
        round: r,
        runtime,
        ok: ms.length,
        non200,
        p50: round(median(ms), 2),
        p90: round(percentile(ms, 90), 2),
        p99: round(percentile(ms, 99), 2),
      });
    }
  }
} finally {
  await mf.dispose();
  await node.stop();
  await db.drop();
}

console.table(rows);
const med = (runtime: string, k: 'p50' | 'p99') =>
  median(rows.filter((x) => x.runtime === runtime).map((x) => x[k] as number));
const summary = {
  bundleKiB: round(bundle.bytes / 1024),
  bundleGzipKiB: round(gzip / 1024),
  nodeP50: med('node', 'p50'),
  workerdP50: med('workerd', 'p50'),
  ratioP50: round(med('workerd', 'p50') / med('node', 'p50'), 2),
  nodeP99: med('node', 'p99'),
  workerdP99: med('workerd', 'p99'),
  ratioP99: round(med('workerd', 'p99') / med('node', 'p99'), 2),
};
console.log(JSON.stringify(summary));
