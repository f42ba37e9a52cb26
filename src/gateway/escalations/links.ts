import type { Express } from 'express';
import type { GatewayDeps } from '../deps.js';

export function registerEscalationLinkRoutes(_app: Express, _deps: GatewayDeps): void {
  // filled in by the escalation engine work
}
