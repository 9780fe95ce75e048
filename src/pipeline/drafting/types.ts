import { z } from 'zod';
import type { UpstreamLimiter } from '../../limits/upstream.ts';
import type { AccountContext, PipelineTicket } from '../types.ts';
import type { Lang } from './language.ts';

/** What a drafter receives: the ticket, the level-filtered context and the tenant's model choice. */
export interface DraftInput {
  tenantId: string;
  ticket: PipelineTicket;
  context: AccountContext;
  now: Date;
  /** The tenant's model setting (used by model-backed drafters). */
  model: string;
  /** The tenant's reply language (`drafting.replyLanguage`); `auto` or absent: the ticket's language. */
  replyLanguage?: 'auto' | Lang | undefined;
  /** The job attempt drafting this (1-based) and the job's limit: the last one falls back offline. */
  attempt?: number;
  maxAttempts?: number;
  /**
   * Called with the usage of a model answer that could not be used (malformed, wrong schema)
   * when the attempt fails without a draft, so the tokens are still recorded.
   */
  onFailedUsage?: (usage: LlmUsage) => void | Promise<void>;
  /**
   * The agent's instruction for a regenerated draft (Regenerate in the sidebar: "shorter", "more
   * formal", "in German"). Written by a signed-in agent, not the requester; at most 300 characters.
   */
  instruction?: string | undefined;
  /** The tenant's shared limits; a model-backed drafter takes a permit per call (src/limits/upstream.ts). */
  limits?: UpstreamLimiter | undefined;
}

export interface LlmUsage {
  model: string;
  promptTokens: number;
  completionTokens: number;
  costMicroUsd: number;
}

/** A proposed reply. Drafts never send themselves: the caller stores them as pending. */
export interface DraftResult {
  reply: string;
  /** Ids of context facts the reply relies on (only ids present in the context are kept). */
  citedFactIds: string[];
  /** 0..1 */
  confidence: number;
  needsHumanReason: string | null;
  drafter: string;
  model: string | null;
  usage?: LlmUsage;
  /**
   * The key of the tenant playbook the draft follows (the one it cites, else the best keyword
   * match), or null: feedback and auto-send are per playbook.
   */
  playbookKey?: string | null;
  /** Set when the model failed and the offline drafter wrote this draft instead. */
  fallback?: { from: string; reason: string; note: string };
}

export interface Drafter {
  readonly name: string;
  draft(input: DraftInput): Promise<DraftResult>;
}

/** The structured answer both drafters produce (the OpenAI drafter asks the model for exactly this). */
export const draftAnswerSchema = z.object({
  reply: z.string().min(1).max(20_000),
  citedFactIds: z.array(z.string().max(300)).max(100),
  confidence: z.number().min(0).max(1),
  needsHumanReason: z.string().max(2000).nullable(),
});
export type DraftAnswer = z.infer<typeof draftAnswerSchema>;
