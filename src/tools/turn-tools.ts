/* What a turn offers the model: the tool shape, the built-in tools, and the defaults a registered tool falls back to. */

/** A tool as a turn offers it to the model, with what the workflow needs to schedule its activity. */
export interface TurnTool {
  toolId: string;
  name: string;
  description: string;
  parameters: Record<string, unknown>;
  timeoutMs: number;
  retry: { maximumAttempts: number; initialIntervalMs: number; backoffCoefficient: number; maximumIntervalMs: number };
  /** For a tool an MCP server exposes through one registered `mcp` tool: its name on that server. */
  mcpTool?: string;
  /** Results of this tool are kept as artifacts of this type (`config.artifact`). */
  artifactType?: 'code' | 'text' | 'sheet' | 'image';
  /** A tool the runtime itself provides (no registry row). */
  builtin?: 'set_conversation_variable' | 'escalate_to_human';
}

/** Lets the model remember a value in the conversation's variables (also settable by PATCH). */
export const setVariableTool: TurnTool = {
  toolId: 'builtin:set_conversation_variable',
  name: 'set_conversation_variable',
  description: 'Remember a value for the rest of this conversation, e.g. the customer\'s order number or preferred language.',
  parameters: {
    type: 'object',
    properties: { name: { type: 'string', pattern: '^[a-zA-Z][a-zA-Z0-9_]{0,63}$' }, value: {} },
    required: ['name', 'value'],
    additionalProperties: false,
  },
  timeoutMs: 5_000,
  retry: { maximumAttempts: 5, initialIntervalMs: 200, backoffCoefficient: 2, maximumIntervalMs: 5_000 },
  builtin: 'set_conversation_variable',
};

/**
 * Offered when a deviation rule of the agent sets `escalateTool`: the model hands the conversation to a
 * person. Calling it fires that rule after the turn (the answer is not held up by the notification).
 */
export const escalateToHumanTool: TurnTool = {
  toolId: 'builtin:escalate_to_human',
  name: 'escalate_to_human',
  description:
    'Hand this conversation to a human colleague when you cannot help, the user is upset, or a decision needs a person. Give a short reason.',
  parameters: {
    type: 'object',
    properties: { reason: { type: 'string', maxLength: 500 } },
    required: ['reason'],
    additionalProperties: false,
  },
  timeoutMs: 5_000,
  retry: { maximumAttempts: 1, initialIntervalMs: 200, backoffCoefficient: 2, maximumIntervalMs: 1_000 },
  builtin: 'escalate_to_human',
};

const artifactTypes = ['code', 'text', 'sheet', 'image'] as const;
/** True for the artifact types a tool's `config.artifact` may name. */
export const isArtifactType = (v: unknown): v is TurnTool['artifactType'] & string => artifactTypes.includes(v as never);

/** An MCP tool registered without a fixed `config.tool` stands for every tool its server lists. */
export function exposesServerTools(toolType: string, config: Record<string, unknown>): boolean {
  return toolType === 'mcp' && typeof config.tool !== 'string';
}

/** Retry policy of a tool call when the tool sets none: three attempts, 1 s, doubling. */
export const defaultToolRetry = { maximumAttempts: 3, initialIntervalMs: 1000, backoffCoefficient: 2, maximumIntervalMs: 30_000 };

/**
 * The retry policy a tool's calls run with: what the tool sets (any of the four fields), the defaults for
 * the rest. What the workflow schedules and what the API shows, so the two cannot differ.
 */
export function effectiveRetryPolicy(stored: Partial<TurnTool['retry']>): TurnTool['retry'] {
  return { ...defaultToolRetry, ...stored };
}
