import { z } from 'zod';

/**
 * Agent config keys the runtime understands, with their schemas. Values are stored as JSON in
 * `agent_config`; a key outside this list must start with `custom.` so typos are refused, not ignored.
 */
export const knownConfigKeys = {
  model: z.string().min(1).max(200),
  temperature: z.number().min(0).max(2),
  max_tokens: z.number().int().min(1).max(200_000),
  history_window: z.number().int().min(0).max(500),
  /**
   * A message while a turn runs: `reject` (409), `enqueue` (runs after it), `interrupt` (cancels it; its message
   * and partial answer stay in the history), `rollback` (cancels it; both leave the history).
   */
  double_texting: z.enum(['reject', 'enqueue', 'interrupt', 'rollback']),
  max_steps: z.number().int().min(1).max(50),
  response_time_budget_ms: z.number().int().min(100).max(600_000),
  /** A conversation with no activity for this long is closed by its session workflow's durable timer. */
  idle_timeout_seconds: z.number().int().min(1).max(90 * 86_400),
  /** Offer the model the built-in `set_conversation_variable` tool (default true). */
  variables_tool: z.boolean(),
} as const;

export type KnownConfigKey = keyof typeof knownConfigKeys;

export const configKeySchema = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[a-z0-9_.-]+$/, 'lowercase letters, digits, "_", "." and "-" only')
  .refine((k) => k in knownConfigKeys || k.startsWith('custom.'), {
    message: `unknown key; known keys are ${Object.keys(knownConfigKeys).join(', ')}, or use a "custom." prefix`,
  });

/** Validates a value for a key; returns the zod error message when it does not fit. */
export function validateConfigValue(key: string, value: unknown): { ok: true } | { ok: false; message: string } {
  const schema = (knownConfigKeys as Record<string, z.ZodType>)[key];
  if (!schema) return { ok: true };
  const parsed = schema.safeParse(value);
  return parsed.success ? { ok: true } : { ok: false, message: parsed.error.issues[0]?.message ?? 'invalid value' };
}

export interface AgentSettings {
  model: string;
  temperature?: number;
  maxTokens?: number;
  historyWindow: number;
  doubleTexting: z.infer<typeof knownConfigKeys.double_texting>;
  /** Model calls one turn may make (each round of tool calls takes one). */
  maxSteps: number;
  variablesTool: boolean;
  /** Past this much of a turn, the tool loop stops and the model is asked to answer. */
  responseTimeBudgetMs?: number;
}

interface AgentColumns {
  model: string | null;
  temperature: number | null;
  maxTokens: number | null;
}

/** Effective settings of an agent: config keys override the agent's columns, which override defaults. */
export function resolveAgentSettings(
  agent: AgentColumns,
  config: Array<{ configKey: string; configValue: unknown }>,
  defaultModel: string,
): AgentSettings {
  const values = new Map(config.map((c) => [c.configKey, c.configValue]));
  const pick = <K extends KnownConfigKey>(key: K): z.infer<(typeof knownConfigKeys)[K]> | undefined => {
    const parsed = knownConfigKeys[key].safeParse(values.get(key));
    return parsed.success ? (parsed.data as z.infer<(typeof knownConfigKeys)[K]>) : undefined;
  };
  return {
    model: pick('model') ?? agent.model ?? defaultModel,
    temperature: pick('temperature') ?? agent.temperature ?? undefined,
    maxTokens: pick('max_tokens') ?? agent.maxTokens ?? undefined,
    historyWindow: pick('history_window') ?? 20,
    doubleTexting: pick('double_texting') ?? 'reject',
    maxSteps: pick('max_steps') ?? 8,
    variablesTool: pick('variables_tool') ?? true,
    responseTimeBudgetMs: pick('response_time_budget_ms'),
  };
}
