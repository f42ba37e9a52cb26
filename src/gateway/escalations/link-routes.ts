import type { Express, Request, Response } from 'express';
import { EscalationCommandRefusedError, sendEscalationCommand } from '../../escalations/events/event-commands.js';
import { findEventById } from '../../escalations/events/event-store.js';
import { LinkTokenError, verifyLinkToken, type LinkClaims } from '../../escalations/links.js';
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

/**
 * Acknowledge / resolve links from notifications, usable without an API key: the signed, expiring token
 * is the credential. GET only shows a confirmation page (mail scanners pre-fetch links; they must not
 * acknowledge anything); the button POSTs to the same URL, which sends the command as `user:<id>`.
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
    if (req.accepts(['html', 'json']) === 'json') {
      res.set('Cache-Control', 'no-store').json({ eventId: event.id, status: event.status, action: claims.action, rule: snapshot.ruleName, reason: event.reason });
      return;
    }
    page(
      res, 200, `${snapshot.priority} escalation: ${snapshot.ruleName}`,
      `<p>${escapeHtml(event.reason ?? '')}</p><p>Status: <b>${escapeHtml(event.status)}</b></p>` +
        `<form method="post"><button type="submit">${claims.action === 'acknowledge' ? 'Acknowledge' : 'Resolve'}</button></form>`,
    );
  });

  app.post('/links/escalations/:token', async (req, res) => {
    const claims = verify(req, res);
    if (!claims) return;
    const event = await findEventById(deps.db, claims.eventId);
    if (!event) return reply(req, res, 404, { error: { code: 'not_found', message: 'escalation not found' } }, 'Not found', 'This escalation no longer exists.');
    try {
      const after = await sendEscalationCommand(deps.db, deps.temporal, event, claims.action, { actor: claims.userId ? `user:${claims.userId}` : 'link', note: 'via notification link' });
      reply(req, res, 200, { eventId: after.id, status: after.status }, 'Done', `The escalation is ${after.status}.`);
    } catch (err) {
      if (!(err instanceof EscalationCommandRefusedError)) throw err;
      reply(req, res, 409, { error: { code: err.code, message: err.message } }, 'Nothing to do', err.message);
    }
  });
}
