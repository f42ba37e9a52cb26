// Parsing of OpenAI-style request bodies into a turn: what is honoured, what is refused (400 with `param`).
import { z } from '../zod.js';
import type { TurnOverrides } from '../../workflows/contracts/index.js';
import type { HistoryMessage } from '../conversations/model-history.js';
import { MAX_IMPORTED_MESSAGES } from '../conversations/imported-history.js';

/** A request refused because of one field; `param` is that field as OpenAI names it. */
export class UnsupportedParamError extends Error {
  constructor(
    readonly param: string,
    message: string,
    /** OpenAI's error code: `unsupported_parameter`, or `string_above_max_length` for a value over a bound. */
    readonly code = 'unsupported_parameter',
  ) {
    super(message);
  }
}

/** What one request asks of the turn. */
export interface ParsedTurn {
  model: string;
  history: HistoryMessage[];
  content: string;
  instructions: string[];
  overrides: TurnOverrides;
  stream: boolean;
  user?: string;
  conversationId?: string;
}

/** The turn's user message: what our own messages endpoint accepts (`POST …/messages`). */
export const MAX_TURN_CHARS = 32_000;
/** The instructions a request appends to the agent's prompt, in all (system and developer messages included). */
export const MAX_INSTRUCTIONS_CHARS = 100_000;

const TOOLS_REFUSED =
  "client-side tools are not supported: an agent's tools are configured on the server and run there; call the agent without tools";

/** Parameters we cannot honour; refused when set to anything but their default. */
const refusedWhenSet: Record<string, (v: unknown) => boolean> = {
  n: (v) => v !== 1,
  logprobs: (v) => v !== false,
  top_logprobs: () => true,
  audio: () => true,
  modalities: (v) => !(Array.isArray(v) && v.length === 1 && v[0] === 'text'),
  functions: () => true,
  function_call: () => true,
  tools: (v) => !(Array.isArray(v) && v.length === 0),
  tool_choice: (v) => v !== 'none' && v !== 'auto',
  response_format: (v) => (v as { type?: string }).type !== 'text',
  prediction: () => true,
  stop: () => true,
  top_p: (v) => v !== 1,
  presence_penalty: (v) => v !== 0,
  frequency_penalty: (v) => v !== 0,
  logit_bias: (v) => Object.keys(v as object).length > 0,
  web_search_options: () => true,
  text: (v) => ((v as { format?: { type?: string } }).format?.type ?? 'text') !== 'text',
  conversation: () => true,
  prompt: () => true,
  max_tool_calls: () => true,
};

/** Refuses every parameter of `body` that is set and that this API cannot honour. */
export function refuseUnsupported(body: Record<string, unknown>): void {
  for (const [param, refused] of Object.entries(refusedWhenSet)) {
    const value = body[param];
    if (value === undefined || value === null || !refused(value)) continue;
    if (param === 'tools' || param === 'tool_choice' || param === 'functions' || param === 'function_call') throw new UnsupportedParamError(param, TOOLS_REFUSED);
    const format = param === 'text' ? 'text.format' : param;
    throw new UnsupportedParamError(format, `${format} is not supported by this API (agents answer with one text message)`);
  }
}

const textPart = z.looseObject({ type: z.string(), text: z.string().optional() });
export const messageContent = z.union([z.string(), z.array(textPart)]);

/** The text of a message's content: a string, or text parts (`text`, `input_text`, `output_text`). */
export function contentText(content: z.infer<typeof messageContent> | null | undefined, param: string): string {
  if (content === null || content === undefined) return '';
  if (typeof content === 'string') return content;
  return content
    .map((part, i) => {
      if (!['text', 'input_text', 'output_text'].includes(part.type) || part.text === undefined) {
        throw new UnsupportedParamError(`${param}[${i}]`, `content of type ${part.type} is not supported; send text`);
      }
      return part.text;
    })
    .join('');
}

export const samplingFields = {
  temperature: z.number().min(0).max(2).nullable().optional(),
  user: z.string().max(200).optional(),
  stream: z.boolean().nullable().optional(),
  metadata: z.record(z.string(), z.string()).nullable().optional(),
};

export interface PlainMessage {
  role: string;
  text: string;
  param: string;
  hasToolCalls?: boolean;
}

/**
 * Splits a message list: system and developer messages are instructions (appended to the agent's), the last
 * message must be the user's and is the turn, the others are history (used only when a conversation is opened).
 */
export function splitMessages(messages: PlainMessage[], lastParam: string): Pick<ParsedTurn, 'history' | 'content' | 'instructions'> {
  const instructions: string[] = [];
  const rest: PlainMessage[] = [];
  for (const m of messages) {
    if (m.role === 'system' || m.role === 'developer') instructions.push(m.text);
    else if (m.role === 'user' || m.role === 'assistant') {
      if (m.hasToolCalls) throw new UnsupportedParamError(m.param, TOOLS_REFUSED);
      rest.push(m);
    } else throw new UnsupportedParamError(`${m.param}.role`, `role ${m.role} is not supported: ${TOOLS_REFUSED}`);
  }
  const last = rest.pop();
  if (!last || last.role !== 'user') throw new UnsupportedParamError(lastParam, 'the last message must be a user message: it is the turn the agent answers');
  if (!last.text.trim()) throw new UnsupportedParamError(`${last.param}.content`, 'the user message is empty');
  if (last.text.trim().length > MAX_TURN_CHARS) {
    throw new UnsupportedParamError(`${last.param}.content`, `the user message has more than ${MAX_TURN_CHARS} characters`, 'string_above_max_length');
  }
  if (rest.length > MAX_IMPORTED_MESSAGES) throw new UnsupportedParamError(lastParam, `at most ${MAX_IMPORTED_MESSAGES} earlier messages`);
  return { history: rest.map((m) => ({ role: m.role as 'user' | 'assistant', content: m.text })), content: last.text, instructions };
}

/** The per-turn overrides of a request; `param` names where the instructions came from when they are too long. */
export function overridesOf(p: { instructions: string[]; param: string; temperature?: number | null; maxTokens?: number | null }): TurnOverrides {
  const instructions = p.instructions.filter((s) => s.trim()).join('\n\n');
  if (instructions.length > MAX_INSTRUCTIONS_CHARS) {
    throw new UnsupportedParamError(p.param, `the instructions (system and developer messages) have more than ${MAX_INSTRUCTIONS_CHARS} characters in all`, 'string_above_max_length');
  }
  return {
    ...(instructions ? { instructions } : {}),
    ...(p.temperature != null ? { temperature: p.temperature } : {}),
    ...(p.maxTokens != null ? { maxTokens: p.maxTokens } : {}),
  };
}
