import { Counter, Histogram, type Registry } from 'prom-client';
import { toolFailures } from '../../workflows/contracts/index.js';
import { toolTypes as knownToolTypes } from '../tools/contracts.js';

/** What the turn activities report: a turn's end and each model call. No ids: labels stay bounded. */
export interface TurnMetrics {
  turnEnded(outcome: 'completed' | 'failed', seconds: number): void;
  /** One model call; `firstTokenSeconds` when it streamed text, `usage` when the server reported it. */
  modelCalled(p: { outcome: 'ok' | 'error' | 'canceled'; seconds: number; firstTokenSeconds?: number; usage?: { promptTokens: number; completionTokens: number } | null }): void;
}

/** One attempt of one tool call, by the tool's type and `success` or the failure kind. */
export interface ToolMetrics {
  toolCalled(p: { type: string; outcome: string; seconds: number }): void;
}

/**
 * Times one model call for {@link TurnMetrics.modelCalled}: `watch` wraps the streamed-text callback to note the
 * first text, `end` reports once (a later `end`, e.g. from a catch after the call succeeded, is ignored).
 */
export function timeModelCall(metrics: TurnMetrics | undefined) {
  const started = Date.now();
  let firstTextAt: number | undefined;
  let ended = false;
  return {
    watch(onText: ((text: string) => void) | undefined): ((text: string) => void) | undefined {
      if (!onText || !metrics) return onText;
      return (text) => {
        firstTextAt ??= Date.now();
        onText(text);
      };
    },
    end(outcome: 'ok' | 'error' | 'canceled', usage?: { promptTokens: number; completionTokens: number } | null): void {
      if (ended || !metrics) return;
      ended = true;
      const firstToken = firstTextAt === undefined ? {} : { firstTokenSeconds: (firstTextAt - started) / 1000 };
      metrics.modelCalled({ outcome, seconds: (Date.now() - started) / 1000, usage, ...firstToken });
    },
  };
}

export type EscalationTransition = 'opened' | 'acknowledged' | 'exhausted';

export interface EscalationMetrics {
  escalation(transition: EscalationTransition): void;
}

export interface WorkerMetrics {
  turns: TurnMetrics;
  tools: ToolMetrics;
  escalations: EscalationMetrics;
}

/** Tool types and failure kinds the code defines; anything else is counted as `other`, so a label never grows. */
const toolTypes = new Set<string>(knownToolTypes);
const toolOutcomes = new Set<string>(['success', ...Object.keys(toolFailures)]);
const transitions: EscalationTransition[] = ['opened', 'acknowledged', 'exhausted'];

/** Seconds buckets for turns and model calls: a turn takes from a second to a few minutes. */
const slowBuckets = [0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300];

/** The worker's own instruments, registered on `registry` (one per process, made by the entry or a test). */
export function createWorkerMetrics(registry: Registry): WorkerMetrics {
  const registers = [registry];
  const turnDuration = new Histogram({
    name: 'smart_agents_turn_duration_seconds', help: 'Turns from start to their recorded end, by outcome',
    labelNames: ['outcome'], buckets: slowBuckets, registers,
  });
  const modelDuration = new Histogram({
    name: 'smart_agents_llm_call_duration_seconds', help: 'Model calls (one activity attempt each), by outcome',
    labelNames: ['outcome'], buckets: slowBuckets, registers,
  });
  const firstToken = new Histogram({
    name: 'smart_agents_llm_time_to_first_token_seconds', help: 'From sending a streamed model call to its first text',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30], registers,
  });
  const tokens = new Counter({ name: 'smart_agents_llm_tokens_total', help: 'Tokens the model servers reported, by kind', labelNames: ['kind'], registers });
  const toolCalls = new Counter({ name: 'smart_agents_tool_calls_total', help: 'Tool call attempts, by tool type and outcome', labelNames: ['type', 'outcome'], registers });
  const toolDuration = new Histogram({
    name: 'smart_agents_tool_call_duration_seconds', help: 'Tool call attempts, by tool type',
    labelNames: ['type'], buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60], registers,
  });
  const escalations = new Counter({ name: 'smart_agents_escalations_total', help: 'Escalations opened, acknowledged and exhausted', labelNames: ['transition'], registers });
  // Series that exist from the start, so a rate() over a fresh process does not miss its first event.
  for (const kind of ['prompt', 'completion']) tokens.inc({ kind }, 0);
  for (const transition of transitions) escalations.inc({ transition }, 0);

  return {
    turns: {
      turnEnded: (outcome, seconds) => turnDuration.observe({ outcome }, seconds),
      modelCalled: ({ outcome, seconds, firstTokenSeconds, usage }) => {
        modelDuration.observe({ outcome }, seconds);
        if (firstTokenSeconds !== undefined) firstToken.observe(firstTokenSeconds);
        if (usage) {
          tokens.inc({ kind: 'prompt' }, usage.promptTokens);
          tokens.inc({ kind: 'completion' }, usage.completionTokens);
        }
      },
    },
    tools: {
      toolCalled: ({ type, outcome, seconds }) => {
        const t = toolTypes.has(type) ? type : 'other';
        toolCalls.inc({ type: t, outcome: toolOutcomes.has(outcome) ? outcome : 'other' });
        toolDuration.observe({ type: t }, seconds);
      },
    },
    escalations: { escalation: (transition) => escalations.inc({ transition }) },
  };
}
