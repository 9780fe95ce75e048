import { z } from 'zod';
import type { EnqueueInput } from '../jobs/types.ts';
import { TRIGGER_EVENTS } from '../zendesk/trigger-payload.ts';

/**
 * The `zendesk.ticket` job contract: written by the webhook (src/zendesk/webhook.ts), read by the
 * pipeline (process-ticket.ts). Ids only; the handler fetches the ticket through the API.
 *
 * `eventKey` is the key the webhook computed for the ticket event (`eventKey()` in
 * trigger-payload.ts): the job's dedupe key, and the stamp the draft id is derived from, so every
 * retry of one event finds the same draft.
 */
export const TICKET_JOB_KIND = 'zendesk.ticket';

const ticketJobFields = {
  connectionId: z.string().min(1).max(200),
  ticketId: z.string().regex(/^\d{1,20}$/),
  event: z.enum(TRIGGER_EVENTS),
  invocationId: z.string().min(1).max(200),
  eventKey: z.string().min(1).max(300),
  /** The agent's Regenerate instruction (sidebar), passed to the drafter. */
  instruction: z.string().min(1).max(300).optional(),
};

export const ticketJobPayloadSchema = z.object(ticketJobFields).strict();
export type TicketJobPayload = z.infer<typeof ticketJobPayloadSchema>;

/**
 * What the reader accepts: the contract, or a payload queued before `eventKey` was part of it
 * (the key is then rebuilt the way the webhook built it, minus the trigger's stamp, which that
 * payload did not carry: the invocation id stands in). Drop once no such job can be queued.
 */
const readablePayloadSchema = z
  .object({ ...ticketJobFields, eventKey: ticketJobFields.eventKey.optional() })
  .strict()
  .transform(
    (p): TicketJobPayload => ({
      ...p,
      eventKey:
        p.eventKey ??
        (p.event === 'ticket_created'
          ? `${p.ticketId}:ticket_created`
          : `${p.ticketId}:${p.event}:${p.invocationId}`),
    }),
  );

/** The job for one ticket event; its dedupe key is the event key. */
export function ticketJob(payload: TicketJobPayload): EnqueueInput & { payload: TicketJobPayload } {
  return {
    kind: TICKET_JOB_KIND,
    payload: ticketJobPayloadSchema.parse(payload),
    dedupeKey: payload.eventKey,
  };
}

/** Parses a job's payload; `null` when it is not a ticket job payload. */
export function readTicketJob(payload: unknown): TicketJobPayload | null {
  const parsed = readablePayloadSchema.safeParse(payload);
  return parsed.success ? parsed.data : null;
}
