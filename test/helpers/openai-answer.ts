/**
 * The body an OpenAI-compatible `POST /chat/completions` answers, for tests that mock the model at
 * the network (msw): one choice whose content is the draft JSON our drafter asks for.
 */
export function chatCompletion(
  draft: { reply: string; citedFactIds?: string[]; confidence?: number; needsHumanReason?: string | null },
  o: { model?: string; promptTokens?: number; completionTokens?: number; id?: string } = {},
) {
  const prompt = o.promptTokens ?? 900;
  const completion = o.completionTokens ?? 120;
  return {
    id: o.id ?? 'chatcmpl-test',
    object: 'chat.completion',
    created: 1,
    model: o.model ?? 'gpt-4.1-mini',
    choices: [
      {
        index: 0,
        finish_reason: 'stop',
        message: {
          role: 'assistant',
          content: JSON.stringify({
            reply: draft.reply,
            citedFactIds: draft.citedFactIds ?? [],
            confidence: draft.confidence ?? 0.8,
            needsHumanReason: draft.needsHumanReason ?? null,
          }),
        },
      },
    ],
    usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion },
  };
}
