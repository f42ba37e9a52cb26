import type { Express, Request, Response } from 'express';
import { EscalationCommandRefusedError, sendEscalationCommand } from '../../escalations/events/event-commands.js';
import { findEventById } from '../../escalations/events/event-store.js';
import { allowedActions, LinkTokenError, offeredActions, verifyLinkToken, type LinkAction, type LinkClaims } from '../../escalations/links.js';
import type { EscalationSnapshot } from '../../../workflows/contracts/index.js';
import type { GatewayDeps } from '../deps.js';

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function page(res: Response, status: number, title: string, body: string): void {
  res
    .status(status)
    .type('html')
    .set('Cache-Control', 'no-store')
    .set('Referrer-Policy', 'no-referrer')
    .send(`<!doctype html><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${escapeHtml(title)}</title><body style="font-family:system-ui;max-width:40rem;margin:3rem auto"><h1>${escapeHtml(title)}</h1>${body}</body>`);
}

function reply(req: Request, res: Response, status: number, json: Record<string, unknown>, title: string, text: string): void {
  if (req.accepts(['html', 'json']) === 'json') res.status(status).set('Cache-Control', 'no-store').json(json);
  else page(res, status, title, `<p>${escapeHtml(text)}</p>`);
}

const buttonLabel: Record<LinkAction, string> = { acknowledge: 'Acknowledge', resolve: 'Resolve' };

/** Who acknowledged (or closed) the event and when, from its timeline, for the page. */
function lastChange(timeline: unknown, kinds: string[]): { actor: string; at: string } | null {
  const entries = Array.isArray(timeline) ? (timeline as { kind?: string; actor?: string; at?: string }[]) : [];
  const e = entries.filter((t) => t.kind && kinds.includes(t.kind)).at(-1);
  return e?.actor && e.at ? { actor: e.actor, at: e.at } : null;
}

/**
 * Acknowledge / resolve links from notifications, usable without an API key: the signed, expiring token
 * is the credential. GET only shows a confirmation page with the event's status and the buttons that
 * still apply (mail scanners pre-fetch links; they must not acknowledge anything); a button POSTs to the
 * same URL (`?action=` names which), which sends the command as `user:<id>`.
 */
export function registerEscalationLinkRoutes(app: Express, deps: GatewayDeps): void {
  const settings = deps.settings.escalationLinks;
  const verify = (req: Request, res: Response): LinkClaims | null => {
    if (!settings?.linkSecret) {
      reply(req, res, 404, { error: { code: 'not_found', message: 'escalation links are not enabled' } }, 'Not found', 'Escalation links are not enabled.');
      return null;
    }
    try {
      return verifyLinkToken(settings.linkSecret, String(req.params.token));
    } catch (err) {
      const expired = err instanceof LinkTokenError && err.reason === 'expired';
      const code = expired ? 'link_expired' : 'invalid_link';
      const message = expired ? 'this link has expired' : 'this link is not valid';
      reply(req, res, expired ? 410 : 403, { error: { code, message } }, expired ? 'Link expired' : 'Invalid link', message);
      return null;
    }
  };

  app.get('/links/escalations/:token', async (req, res) => {
    const claims = verify(req, res);
    if (!claims) return;
    const event = await findEventById(deps.db, claims.eventId);
    if (!event) return reply(req, res, 404, { error: { code: 'not_found', message: 'escalation not found' } }, 'Not found', 'This escalation no longer exists.');
    const snapshot = event.policySnapshot as unknown as EscalationSnapshot;
    const actions = offeredActions(claims, event.status);
    if (req.accepts(['html', 'json']) === 'json') {
      res.set('Cache-Control', 'no-store').json({ eventId: event.id, status: event.status, action: claims.action, actions, rule: snapshot.ruleName, reason: event.reason });
      return;
    }
    const by = lastChange(event.timeline, event.status === 'acknowledged' ? ['acknowledged'] : ['resolved', 'auto_resolved', 'ignored']);
    const state = `<p>Status: <b>${escapeHtml(event.status)}</b>${by && event.status !== 'pending' ? ` (by ${escapeHtml(by.actor)} at ${escapeHtml(by.at)})` : ''}</p>`;
    const buttons = actions.length
      ? actions.map((a) => `<form method="post" action="?action=${a}" style="display:inline;margin-right:1rem"><button type="submit">${buttonLabel[a]}</button></form>`).join('')
      : '<p>Nothing left to do here.</p>';
    page(res, 200, `${snapshot.priority} escalation: ${snapshot.ruleName}`, `<p>${escapeHtml(event.reason ?? '')}</p>${state}${buttons}`);
  });

  app.post('/links/escalations/:token', async (req, res) => {
    const claims = verify(req, res);
    if (!claims) return;
    const event = await findEventById(deps.db, claims.eventId);
    if (!event) return reply(req, res, 404, { error: { code: 'not_found', message: 'escalation not found' } }, 'Not found', 'This escalation no longer exists.');
    const asked = typeof req.query.action === 'string' ? req.query.action : claims.action;
    const action = allowedActions[claims.action].find((a) => a === asked);
    if (!action) return reply(req, res, 403, { error: { code: 'action_not_allowed', message: `this link cannot ${asked}` } }, 'Not allowed', `This link cannot ${asked} the escalation.`);
    try {
      const after = await sendEscalationCommand(deps.db, deps.temporal, event, action, { actor: claims.userId ? `user:${claims.userId}` : 'link', note: 'via notification link' });
      reply(req, res, 200, { eventId: after.id, status: after.status }, 'Done', `The escalation is ${after.status}.`);
    } catch (err) {
      if (!(err instanceof EscalationCommandRefusedError)) throw err;
      reply(req, res, 409, { error: { code: err.code, message: err.message } }, 'Nothing to do', err.message);
    }
  });
}
