import type { RouteContext } from './deps.js';

export function registerUserRoutes(_ctx: RouteContext): void {
  // filled in by the escalation engine work
}
