import type { RouteContext } from '../deps.js';

export function registerEscalationRoutes(_ctx: RouteContext): void {
  // filled in by the escalation engine work
}
