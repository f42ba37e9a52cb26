import type { Channel, Priority, RuleType } from '../../../workflows/contracts/index.js';

/**
 * What a notification template can use. Every name below exists in every render (strict variables): a
 * name that is not here fails the render. `conversation` and `turn` are `null` for events that have none
 * (threshold and scheduled rules); reading a property of a null object renders as empty text, so guard
 * with `{% if conversation %}` to avoid dangling labels.
 */
export interface NotificationVariables {
  /** The agent the escalation is about. */
  agent: {
    id: string;
    name: string;
  };
  /** The conversation that fired the rule; null when the trigger was not about one conversation. */
  conversation: {
    id: string;
    /** active | paused | completed | failed */
    status: string;
    /** The conversation's own variables, as set through the API. */
    variables: Record<string, unknown>;
    messagesCount: number;
  } | null;
  /** The turn that fired the rule (deviation rules); null otherwise. */
  turn: {
    /** Index of the turn in its conversation. */
    index: number;
    userMessage: string;
    /** Null when the turn failed before the agent answered. */
    response: string | null;
  } | null;
  /** The rule as it was when the event opened (later edits do not change it). */
  rule: {
    id: string;
    name: string;
    /** deviation | threshold | manual | scheduled */
    type: RuleType;
    /** low | medium | high | critical */
    priority: Priority;
  };
  /** The escalation itself. */
  event: {
    id: string;
    /** pending | acknowledged | snoozed | resolved | ignored */
    status: string;
    /** Why it fired, in words (keyword matched, threshold crossed, reason given by a person). */
    reason: string | null;
    /** ISO 8601 instant; format it with the `date` filter. */
    createdAt: string;
    /** What the trigger saw; keys depend on the rule type (see `trigger`). */
    triggerData: Record<string, unknown>;
  };
  /**
   * Where in the escalation policy this notification comes from. Levels and passes count from 1, as in
   * the API, the timeline and the Temporal UI: level 1 is the policy's first level, pass 1 its first run
   * through the levels (pass 2 = the first repeat).
   */
  level: {
    /** The level being notified: 1 .. `count`. */
    number: number;
    /** How many levels the policy has. */
    count: number;
    /**
     * The run through the levels: 1 .. `passCount`. Before levels and passes were counted the same way
     * this was 0 on the first run: a template that tests `level.pass > 0` now tests `level.repeat > 0`.
     */
    pass: number;
    /** How many runs the policy makes at most (its `repeat` + 1). */
    passCount: number;
    /** How many times the policy has started over: 0 on the first pass (= `pass` - 1). A count, not a number. */
    repeat: number;
    /** How long this level has to acknowledge before the next one is told. */
    ackTimeoutSeconds: number;
  };
  /** Signed one-click links for this recipient; null when links are not configured. */
  links: {
    acknowledge: string | null;
    resolve: string | null;
  };
  /** Same object as `event.triggerData`, shorter to type. Keys vary by rule: guard with `{% if trigger.x %}`. */
  trigger: Record<string, unknown>;
  /** The person this copy is addressed to. */
  recipient: {
    id: string;
    name: string | null;
    email: string | null;
  };
}

/** A notification template: the subject is used by email and in-app messages, ignored elsewhere. */
export interface TemplateSource {
  subject?: string | null;
  body: string;
}

/** The top-level names a template may use; anything else is refused when a template is saved. */
export const variableNames = [
  'agent', 'conversation', 'turn', 'rule', 'event', 'level', 'links', 'trigger', 'recipient',
] as const satisfies readonly (keyof NotificationVariables)[];

/** Realistic values for previews, fixed so that a preview renders the same text every time. */
export function sampleVariables(): NotificationVariables {
  const triggerData = { keyword: 'refund', turnIndex: 4, matched: ['refund'] };
  return {
    agent: { id: '3f1c2a9e-8b7d-4e6f-9a1b-2c3d4e5f6a7b', name: 'Support Assistant' },
    conversation: {
      id: '7b2e4d6f-1a3c-4e5b-8d7f-9a0b1c2d3e4f',
      status: 'active',
      variables: { customerId: 'C-10442', plan: 'pro' },
      messagesCount: 9,
    },
    turn: {
      index: 4,
      userMessage: 'I was charged twice this month and I want a refund now.',
      response: 'I am sorry about the double charge. Let me bring in a person from billing.',
    },
    rule: { id: '9c8b7a6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d', name: 'Refund requests', type: 'deviation', priority: 'high' },
    event: {
      id: 'e1d2c3b4-a596-4877-8a9b-0c1d2e3f4a5b',
      status: 'pending',
      reason: 'keyword "refund" in the user message',
      createdAt: '2025-03-14T09:26:53.000Z',
      triggerData,
    },
    level: { number: 1, count: 2, pass: 1, passCount: 2, repeat: 0, ackTimeoutSeconds: 900 },
    links: {
      acknowledge: 'https://agents.example.com/escalation-links/acknowledge?token=sample',
      resolve: 'https://agents.example.com/escalation-links/resolve?token=sample',
    },
    trigger: triggerData,
    recipient: { id: '0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d', name: 'Dana Whitfield', email: 'dana@example.com' },
  };
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Deep-merges preview overrides over `base`: objects merge key by key, anything else (arrays, null,
 * scalars) replaces. `null` therefore previews an event without a conversation. Overrides are not
 * validated: a preview shows what the template does with whatever it is given. `__proto__` keys are
 * dropped so that JSON from a request cannot reach a prototype.
 */
export function mergeVariables(base: NotificationVariables, ...overrides: Array<Record<string, unknown> | null | undefined>): NotificationVariables {
  let out: Record<string, unknown> = { ...base };
  for (const o of overrides) if (o) out = mergeObjects(out, o);
  // `trigger` is documented as the same object as event.triggerData; keep them equal unless one was set.
  const event = out.event;
  if (isPlainObject(event) && overrides.every((o) => !o || !('trigger' in o))) out.trigger = event.triggerData;
  return out as unknown as NotificationVariables;
}

function mergeObjects(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (key === '__proto__') continue;
    const current = out[key];
    out[key] = isPlainObject(current) && isPlainObject(value) ? mergeObjects(current, value) : value;
  }
  return out;
}

const emailBody = `Hello {{ recipient.name | default: "there" }},

Escalation "{{ rule.name }}" ({{ rule.type }}, {{ rule.priority }} priority) opened for agent {{ agent.name }}.
{% if event.reason %}Reason: {{ event.reason }}
{% endif %}Status: {{ event.status }}, level {{ level.number }} of {{ level.count }}{% if level.repeat > 0 %} (pass {{ level.pass }} of {{ level.passCount }}){% endif %}
Opened: {{ event.createdAt }}
{% if conversation %}
Conversation {{ conversation.id }} ({{ conversation.status }}, {{ conversation.messagesCount }} messages)
{% endif %}{% if turn %}
Turn {{ turn.index }}
  User: {{ turn.userMessage | truncate: 500 }}
  Agent: {{ turn.response | default: "(no answer)" | truncate: 500 }}
{% endif %}{% if links.acknowledge %}
Acknowledge: {{ links.acknowledge }}
{% endif %}{% if links.resolve %}Resolve: {{ links.resolve }}
{% endif %}{% if level.number < level.count %}
If nobody acknowledges within {{ level.ackTimeoutSeconds }} seconds, level {{ level.number | plus: 1 }} is notified.
{% endif %}`;

const webhookBody =
  '{"type":"escalation","event":{{ event | json }},"rule":{{ rule | json }},"agent":{{ agent | json }},' +
  '"level":{{ level | json }},"conversation":{{ conversation | json }},"turn":{{ turn | json }},' +
  '"links":{{ links | json }},"recipient":{{ recipient | json }}}';

const defaults: Record<Channel, { subject: string | null; body: string }> = {
  email: { subject: '[{{ rule.priority | upcase }}] {{ rule.name }} ({{ agent.name }})', body: emailBody },
  webhook: { subject: null, body: webhookBody },
  in_app: {
    subject: '{{ rule.name }} ({{ rule.priority }})',
    body: '{{ agent.name }}: {{ event.reason | default: "escalation opened" }}{% if conversation %} in conversation {{ conversation.id }}{% endif %}. Level {{ level.number }} of {{ level.count }}.',
  },
  sms: {
    subject: null,
    body: '[{{ rule.priority | upcase }}] {{ rule.name }} ({{ agent.name }}): {{ event.reason | default: "escalation opened" | truncate: 80 }}{% if links.acknowledge %} Ack: {{ links.acknowledge }}{% endif %}',
  },
};

/**
 * The template a rule uses on a channel it has no template for, and the fallback when a project's
 * template fails to render. It must never fail itself: it guards every nullable object and uses only
 * documented variables. Email is plain text; the webhook body is JSON built with the `json` filter, so
 * it stays valid whatever the values contain.
 */
export function defaultTemplate(channel: Channel): TemplateSource {
  return { ...defaults[channel] };
}
