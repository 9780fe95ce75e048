import type { Db } from '../../db/client.ts';
import { llmUsage } from '../../db/schema/index.ts';
import { withTenant } from '../../db/tenant.ts';
import { newId } from '../../lib/ids.ts';
import type { LlmUsage } from './types.ts';

/**
 * Records the usage of a model answer that produced no draft (malformed JSON, wrong schema) as
 * an `llm_usage` row without a draft id: the tokens were spent and the tenant's cost counts them.
 */
export function recordFailedUsage(db: Db, tenantId: string, usage: LlmUsage): Promise<void> {
  return withTenant(db, tenantId, async (tx) => {
    await tx.insert(llmUsage).values({
      tenantId,
      id: newId('llm'),
      draftId: null,
      model: usage.model,
      promptTokens: usage.promptTokens,
      completionTokens: usage.completionTokens,
      costMicroUsd: usage.costMicroUsd,
    });
  });
}
