import type { ToolUseRecord } from './turn-outcome.js';

export interface ArtifactDraft {
  type: 'code' | 'text' | 'sheet' | 'image';
  title: string;
  content: string;
  metadata: Record<string, unknown>;
}

const FENCE = /```([\w+-]*)[^\n]*\n([\s\S]*?)```/g;

/**
 * What a turn keeps as artifacts: results of tools marked `config.artifact` (code, text, sheet or image
 * reference), and each fenced code block of the model's answer.
 */
export function collectArtifacts(
  answer: string,
  toolsUsed: ToolUseRecord[],
  artifactTypes: Record<string, ArtifactDraft['type'] | undefined>,
): ArtifactDraft[] {
  const fromTools = toolsUsed.flatMap((t): ArtifactDraft[] => {
    const type = artifactTypes[t.toolName];
    if (!type || t.status !== 'success') return [];
    const content = typeof t.outputResult === 'string' ? t.outputResult : JSON.stringify(t.outputResult ?? null);
    return [{ type, title: `${t.toolName} result`, content, metadata: { toolId: t.toolId, callId: t.callId } }];
  });
  const fromAnswer = [...answer.matchAll(FENCE)].map(
    (m): ArtifactDraft => ({
      type: 'code',
      title: m[1] ? `${m[1]} snippet` : 'snippet',
      content: (m[2] ?? '').replace(/\n$/, ''),
      metadata: m[1] ? { language: m[1] } : {},
    }),
  );
  return [...fromTools, ...fromAnswer];
}
