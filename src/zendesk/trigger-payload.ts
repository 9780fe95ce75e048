import { z } from 'zod';

/**
 * The JSON body our Zendesk triggers send to `POST /webhooks/zendesk/:hookId`. Only ids and
 * fixed words: Zendesk renders placeholders as raw text into the body, so free text (subjects,
 * comments) could break the JSON. Everything else is fetched through the API by the job.
 */
/**
 * `agent_replied` (an agent's public comment) is not drafted: it matches a reply sent with
 * Zendesk's own button after Insert back to its draft (src/zendesk/sidebar-reply-match.ts).
 */
export const TRIGGER_EVENTS = ['ticket_created', 'comment_added', 'agent_replied'] as const;
export type TriggerEvent = (typeof TRIGGER_EVENTS)[number];

export const triggerPayloadSchema = z
  .object({
    ticket_id: z.union([z.string().regex(/^\d{1,20}$/), z.number().int().positive()]).transform(String),
    event: z.enum(TRIGGER_EVENTS),
    /** `{{ticket.updated_at_with_timestamp}}`-style stamp that tells two comment events on one ticket apart. */
    updated_at: z
      .string()
      .max(64)
      // Part of the stored event key: PostgreSQL text cannot hold a NUL (a 500 otherwise).
      .refine((s) => !s.includes('\u0000'), 'must not contain a NUL character')
      .optional(),
  })
  .strict();

export type TriggerPayload = z.infer<typeof triggerPayloadSchema>;

/** The body text a trigger of this event sends (placeholders are filled by Zendesk). */
export function triggerBody(event: TriggerEvent): string {
  return JSON.stringify({
    ticket_id: '{{ticket.id}}',
    event,
    updated_at: '{{ticket.updated_at_with_timestamp}}',
  });
}

/** Dedupe key for an event independent of Zendesk's invocation id (retries of one change share it). */
export function eventKey(p: TriggerPayload): string {
  return p.event === 'ticket_created'
    ? `${p.ticket_id}:ticket_created`
    : `${p.ticket_id}:${p.event}:${p.updated_at ?? ''}`;
}
