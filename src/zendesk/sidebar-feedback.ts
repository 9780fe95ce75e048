import { and, gte } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { draftDeliveries, drafts } from '../db/schema/index.ts';
import { withTenant } from '../db/tenant.ts';

/**
 * The tenant's draft feedback per playbook (the key the drafter matched, stored in the draft's
 * snapshot as `playbookId`; null for drafts that followed none), for the console: how many drafts were sent unchanged
 * (accepted), sent edited, rejected (with the reasons), the mean edit distance of sent drafts and
 * the mean time from draft to sent. Read inside the tenant (RLS), since `since`.
 */
export interface PlaybookFeedback {
  playbookId: string | null;
  drafts: number;
  sent: number;
  sentUnchanged: number;
  sentEdited: number;
  rejected: number;
  acceptanceRate: number | null;
  editRate: number | null;
  meanEditDistance: number | null;
  meanSecondsToSent: number | null;
  /** From the ticket's creation in Zendesk to the reply sent (drafts that know the ticket's time). */
  meanSecondsTicketToSent: number | null;
  /** Sends by the sidebar, by auto-send, and with Zendesk's own button after Insert. */
  sentBy: { sidebar: number; auto_send: number; zendesk_button: number };
  rejectionReasons: { reason: string; count: number }[];
}

export async function draftFeedback(db: Db, tenantId: string, since: Date): Promise<PlaybookFeedback[]> {
  const rows = await withTenant(db, tenantId, async (tx) => {
    const ds = await tx
      .select({ id: drafts.id, createdAt: drafts.createdAt, snapshot: drafts.contextSnapshot })
      .from(drafts)
      .where(and(gte(drafts.createdAt, since)));
    const dl = await tx.select().from(draftDeliveries).where(gte(draftDeliveries.createdAt, since));
    return { ds, dl };
  });
  const deliveries = new Map(rows.dl.map((d) => [d.draftId, d]));
  const groups = new Map<
    string | null,
    PlaybookFeedback & {
      _dist: number[];
      _secs: number[];
      _ticketSecs: number[];
      _reasons: Map<string, number>;
    }
  >();
  for (const d of rows.ds) {
    const pb = typeof d.snapshot.playbookId === 'string' ? d.snapshot.playbookId : null;
    let g = groups.get(pb);
    if (!g) {
      g = {
        playbookId: pb,
        drafts: 0,
        sent: 0,
        sentUnchanged: 0,
        sentEdited: 0,
        rejected: 0,
        acceptanceRate: null,
        editRate: null,
        meanEditDistance: null,
        meanSecondsToSent: null,
        meanSecondsTicketToSent: null,
        sentBy: { sidebar: 0, auto_send: 0, zendesk_button: 0 },
        rejectionReasons: [],
        _dist: [],
        _secs: [],
        _ticketSecs: [],
        _reasons: new Map(),
      };
      groups.set(pb, g);
    }
    g.drafts++;
    const del = deliveries.get(d.id);
    if (del?.status === 'sent') {
      g.sent++;
      const dist = del.editDistance ?? 0;
      if (dist === 0) g.sentUnchanged++;
      else g.sentEdited++;
      g._dist.push(dist);
      g.sentBy[del.mode]++;
      if (del.sentAt) {
        g._secs.push((del.sentAt.getTime() - d.createdAt.getTime()) / 1000);
        const ticketAt = Date.parse(String(d.snapshot.ticketCreatedAt ?? ''));
        if (Number.isFinite(ticketAt)) g._ticketSecs.push((del.sentAt.getTime() - ticketAt) / 1000);
      }
    } else if (del?.status === 'rejected') {
      g.rejected++;
      const r = del.reason ?? '(none)';
      g._reasons.set(r, (g._reasons.get(r) ?? 0) + 1);
    }
  }
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
  return [...groups.values()].map(({ _dist, _secs, _ticketSecs, _reasons, ...g }) => ({
    ...g,
    acceptanceRate: g.drafts ? g.sentUnchanged / g.drafts : null,
    editRate: g.sent ? g.sentEdited / g.sent : null,
    meanEditDistance: mean(_dist),
    meanSecondsToSent: mean(_secs),
    meanSecondsTicketToSent: mean(_ticketSecs),
    rejectionReasons: [..._reasons]
      .map(([reason, count]) => ({ reason, count }))
      .sort((a, b) => b.count - a.count),
  }));
}
