import { z } from 'zod';

/**
 * The scenario file format (../shared/scenarios/README.md), parsed with zod. Lenient where the
 * README is silent (extra keys are kept, optional lists default to empty), strict where the
 * runner depends on a value.
 */
const record = z.record(z.string(), z.unknown());

export const scenarioSchema = z
  .object({
    id: z.string().min(1),
    summary: z.string().default(''),
    now: z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO 8601 time'),
    tenant: z
      .object({
        name: z.string().min(1),
        zendeskSubdomain: z.string().regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/),
        catalog: z
          .object({
            plans: z
              .array(
                z
                  .object({ key: z.string(), name: z.string(), monthlyPrice: z.number().nullish() })
                  .passthrough(),
              )
              .default([]),
            features: z
              .array(
                z
                  .object({ key: z.string(), name: z.string(), plans: z.array(z.string()).default([]) })
                  .passthrough(),
              )
              .default([]),
            links: z
              .record(
                z.string(),
                z.union([
                  z.string(),
                  z.object({ url: z.string(), purpose: z.string().optional() }).passthrough(),
                ]),
              )
              .default({}),
            kb: z.array(z.object({ id: z.string(), title: z.string(), body: z.string() })).default([]),
            changelog: z
              .array(
                z.object({ date: z.string(), title: z.string(), body: z.string().default('') }).passthrough(),
              )
              .default([]),
          })
          .passthrough()
          .default({ plans: [], features: [], links: {}, kb: [], changelog: [] }),
        playbooks: z
          .array(z.object({ key: z.string(), when: z.string(), steps: z.array(z.string()).default([]) }))
          .default([]),
        routing: z
          .object({
            orgField: z.string().default('account_id'),
            brands: z.record(z.string(), z.string()).default({}),
            recipients: z.record(z.string(), z.string()).optional(),
          })
          .default({ orgField: 'account_id', brands: {} }),
      })
      .passthrough(),
    accounts: z
      .array(
        z
          .object({
            id: z.string().min(1),
            name: z.string().min(1),
            plan: z.string().nullish(),
            domains: z.array(z.string()).default([]),
            integrations: record.default({}),
            users: z
              .array(
                z
                  .object({ email: z.string(), name: z.string().nullish(), role: z.string().nullish() })
                  .passthrough(),
              )
              .default([]),
            auditLog: z.array(z.unknown()).default([]),
            apiRequests: z.array(z.unknown()).default([]),
            recentTickets: z.array(z.unknown()).default([]),
            endUsers: z
              .array(z.object({ email: z.string(), name: z.string().nullish(), records: record.default({}) }))
              .default([]),
            internalNotes: z.unknown().optional(),
          })
          .passthrough(),
      )
      .default([]),
    ticket: z.object({
      id: z.union([z.number().int().positive(), z.string().regex(/^\d+$/)]).transform(Number),
      subject: z.string().default(''),
      body: z.string().default(''),
      requester: z.object({ email: z.string(), name: z.string().nullish() }),
      organization: z.object({ name: z.string(), fields: record.default({}) }).nullish(),
      brand: z.string().nullish(),
      recipient: z.string().nullish(),
      via: z.string().nullish(),
      createdAt: z.string().nullish(),
    }),
    expect: z
      .object({
        route: z.enum(['account', 'end_user', 'unknown']),
        accountId: z.string().nullable(),
        draftMentions: z.array(z.string()).default([]),
        draftMustNotMention: z.array(z.string()).default([]),
        language: z.string().min(2).max(8).optional(),
      })
      .passthrough(),
  })
  .passthrough();

export type Scenario = z.infer<typeof scenarioSchema>;

export function parseScenario(text: string, name: string): Scenario {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${name}: not JSON (${(e as Error).message})`);
  }
  const r = scenarioSchema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new Error(`${name}: ${i?.path.join('.') || '(root)'} ${i?.message}`);
  }
  return r.data;
}
