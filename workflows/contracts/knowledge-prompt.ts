import type { Activities } from '../../activities/index.js';

type Plan = Awaited<ReturnType<Activities['startTurn']>>;
type Retrieved = Awaited<ReturnType<Activities['retrieveKnowledge']>>;

/** Puts retrieved chunks into the prompt, each behind a source marker the model is asked to cite. */
export function withKnowledge(plan: Plan, retrieved: Retrieved): Plan {
  if (retrieved.hits.length === 0) return plan;
  const sources = retrieved.hits
    .map((h, i) => `[S${i + 1}] ${h.documentTitle}${h.heading ? ` > ${h.heading}` : ''}\n${h.content}`)
    .join('\n\n');
  const note = {
    role: 'system' as const,
    content: `Knowledge base excerpts for this question. Cite the ones you use as [S1], [S2]...\n\n${sources}`,
  };
  const [system, ...rest] = plan.request.messages;
  return { ...plan, request: { ...plan.request, messages: system ? [system, note, ...rest] : [note, ...rest] } };
}

/** What the turn row records per base: the query, how many chunks came back, whether the answer cited one. */
export function knowledgeSources(retrieved: Retrieved, query: string, answer: string) {
  return retrieved.bases.map((knowledgeBaseId) => {
    const markers = retrieved.hits.flatMap((h, i) => (h.knowledgeBaseId === knowledgeBaseId ? [`[S${i + 1}]`] : []));
    return { knowledgeBaseId, query, resultsCount: markers.length, usedInResponse: markers.some((m) => answer.includes(m)) };
  });
}
