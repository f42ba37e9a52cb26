import { expect } from 'vitest';
import type { ApiCall } from './http';

/** What tests read back from `GET /v1/escalations/:id`. */
export interface EscalationView {
  id: string;
  status: string;
  currentLevel: number;
  workflowId: string;
  reason: string | null;
  assignedTo: string | null;
  timeline: { seq: number; kind: string; status: string; level: number; actor: string; note?: string; [k: string]: unknown }[];
  deliveries: { channel: string; level: number; pass: number; status: string; targetUserId: string; targetAddress: string | null; error: string | null }[];
  policy: Record<string, unknown>;
}

export async function getEscalation(api: ApiCall, id: string): Promise<EscalationView> {
  const res = await api('GET', `/v1/escalations/${id}`);
  expect(res.status).toBe(200);
  return res.body as EscalationView;
}

/** Polls until the escalation's timeline has an entry of `kind` (at least `count` of them). */
export async function waitForTimeline(api: ApiCall, id: string, kind: string, count = 1, timeout = 20_000): Promise<EscalationView> {
  let view: EscalationView | undefined;
  await expect
    .poll(async () => (view = await getEscalation(api, id)).timeline.filter((t) => t.kind === kind).length, { timeout, interval: 150 })
    .toBeGreaterThanOrEqual(count);
  return view!;
}

/** Polls the list until the agent has `count` escalations; returns them newest first. */
export async function waitForEscalations(api: ApiCall, query: string, count = 1, timeout = 20_000) {
  let items: { id: string; status: string; reason: string | null; escalationRuleId: string }[] = [];
  await expect
    .poll(async () => (items = (await api('GET', `/v1/escalations?${query}`)).body.items).length, { timeout, interval: 150 })
    .toBeGreaterThanOrEqual(count);
  return items;
}

export const kinds = (v: EscalationView) => v.timeline.map((t) => t.kind);

/** A project's people: an on-call engineer (level 1) and a manager (level 2), with every channel. */
export async function createPeople(api: ApiCall, webhookUrl: string) {
  const mk = async (name: string, email: string, phone: string) => {
    const res = await api('POST', '/v1/users', { name, email, phone, webhookUrl });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.id as string;
  };
  return { oncall: await mk('On Call', 'oncall@example.test', '+15550000001'), manager: await mk('Manager', 'manager@example.test', '+15550000002') };
}

export async function createRule(api: ApiCall, body: Record<string, unknown>): Promise<string> {
  const res = await api('POST', '/v1/escalation-rules', body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id as string;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
