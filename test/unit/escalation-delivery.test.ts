import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createDeliverer,
  DeliveryError,
  messageIdFor,
  verifyWebhookSignature,
  type DeliveryConfig,
  type OutgoingNotification,
} from '../../src/escalations/notifications/deliverer';
import { createNetGuard } from '../../src/net/net-guard';
import { startHttpReceiver, startSmtpReceiver } from '../support/receivers';

const smtpPass = 'smtp-pa$$word-9f2';
const smsToken = 'sms-token-4c1d9e';
const webhookSecret = 'whsec-7a8b9c0d';
const secrets = [smtpPass, encodeURIComponent(smtpPass), smsToken, webhookSecret];

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function deliverer(overrides: Partial<DeliveryConfig> = {}) {
  const d = createDeliverer({ smtpFrom: 'Smart Agents <escalations@agents.test>', guard: createNetGuard({ allow: ['127.0.0.1'] }), timeoutMs: 5_000, ...overrides });
  cleanups.push(() => d.close());
  return d;
}

function note(overrides: Partial<OutgoingNotification>): OutgoingNotification {
  return { notificationId: 'n-1', eventId: 'ev-1', channel: 'email', to: 'oncall@example.com', subject: 'Escalation: refund', body: 'A customer asks for a human.\nSecond line.', idempotencyKey: 'escalation:ev-1:0:0:n-1', ...overrides };
}

async function failure(promise: Promise<unknown>): Promise<DeliveryError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(DeliveryError);
  for (const secret of secrets) expect((err as Error).message).not.toContain(secret);
  return err as DeliveryError;
}

async function smtp() {
  const receiver = await startSmtpReceiver({ user: 'mailer', pass: smtpPass });
  cleanups.push(() => receiver.close());
  return receiver;
}

async function receiver() {
  const r = await startHttpReceiver();
  cleanups.push(() => r.close());
  return r;
}

describe('email delivery', () => {
  it('sends through the authenticated SMTP server with a Message-ID derived from the idempotency key', async () => {
    const server = await smtp();
    const d = deliverer({ smtpUrl: server.url });
    const result = await d.deliver(note({ subject: 'Eskalation: Rückerstattung', body: 'Café au lait — ünïcode line that is long enough to need folding by the encoder '.repeat(2) + '\nline 2' }));
    await d.deliver(note({ subject: null, body: '\nFirst real line\nrest', notificationId: 'n-2', idempotencyKey: 'key-2' }));

    const [mail, second] = server.messages;
    expect(mail).toMatchObject({ from: 'escalations@agents.test', to: ['oncall@example.com'], subject: 'Eskalation: Rückerstattung', user: 'mailer' });
    expect(mail!.text).toContain('Café au lait — ünïcode');
    expect(mail!.text.endsWith('\nline 2')).toBe(true);
    expect(mail!.headers.get('x-escalation-event')).toBe('ev-1');
    expect(mail!.headers.get('from')).toContain('escalations@agents.test');
    const expectedId = messageIdFor('escalation:ev-1:0:0:n-1', 'Smart Agents <escalations@agents.test>');
    expect(expectedId).toMatch(/^<[0-9a-f]{40}@agents\.test>$/);
    expect(mail!.messageId).toBe(expectedId);
    expect(result.providerId).toBe(expectedId);
    expect(second!.subject).toBe('First real line');
    expect(second!.messageId).not.toBe(expectedId);
  });

  it('maps a permanent RCPT rejection to non-retryable and a temporary one to retryable', async () => {
    const server = await smtp();
    const d = deliverer({ smtpUrl: server.url });
    server.rejectNext(550, 'No such user here');
    const permanent = await failure(d.deliver(note({})));
    expect(permanent).toMatchObject({ retryable: false, channel: 'email', status: 550 });
    expect(permanent.message).toContain('No such user');
    server.rejectNext(451, 'Try again later');
    expect(await failure(d.deliver(note({})))).toMatchObject({ retryable: true, status: 451 });
    await d.deliver(note({}));
    expect(server.messages).toHaveLength(1);
  });

  it('treats rejected credentials as permanent, a closed port as transient, no SMTP_URL as permanent', async () => {
    const server = await smtp();
    const wrongPass = await failure(deliverer({ smtpUrl: server.url.replace(encodeURIComponent(smtpPass), 'wrong-pass') }).deliver(note({})));
    expect(wrongPass).toMatchObject({ retryable: false, status: 535 });

    const closedPort = server.port;
    await server.close();
    expect(await failure(deliverer({ smtpUrl: `smtp://mailer:${encodeURIComponent(smtpPass)}@127.0.0.1:${closedPort}` }).deliver(note({})))).toMatchObject({ retryable: true });

    const unconfigured = await failure(deliverer().deliver(note({})));
    expect(unconfigured).toMatchObject({ retryable: false, message: 'SMTP is not configured (SMTP_URL)' });
    expect(await failure(deliverer({ smtpUrl: 'http://mailer:x@host' }).deliver(note({})))).toMatchObject({ retryable: false });
    expect(await failure(deliverer({ smtpUrl: server.url }).deliver(note({ to: 'not an address' })))).toMatchObject({ retryable: false });
  });
});

describe('webhook delivery', () => {
  const hook = (url: string, data?: Record<string, unknown>) => note({ channel: 'webhook', to: url, data });

  it('POSTs the signed JSON payload with the idempotency key', async () => {
    const r = await receiver();
    r.respondWith(202, { 'content-type': 'application/json' }, '{"id":"hook-42"}');
    const result = await deliverer({ webhookSecret }).deliver(hook(`${r.url}/hooks/escalations?token=abc`, { status: 'pending', level: 1, eventId: 'forged' }));

    expect(result.providerId).toBe('hook-42');
    const [req] = r.requests;
    expect(req).toMatchObject({ method: 'POST', path: '/hooks/escalations?token=abc' });
    expect(req!.headers['idempotency-key']).toBe('escalation:ev-1:0:0:n-1');
    expect(req!.headers['user-agent']).toBe('smart-agents-escalations');
    expect(req!.json).toEqual({ notificationId: 'n-1', eventId: 'ev-1', subject: 'Escalation: refund', body: 'A customer asks for a human.\nSecond line.', status: 'pending', level: 1 });
    const timestamp = req!.headers['x-signature-timestamp'] as string;
    expect(Math.abs(Number(timestamp) - Date.now() / 1000)).toBeLessThan(5);
    // The documented scheme, computed independently of the code under test.
    expect(req!.headers['x-signature']).toBe(`sha256=${createHmac('sha256', webhookSecret).update(`${timestamp}.${req!.rawBody}`).digest('hex')}`);
    expect(verifyWebhookSignature(webhookSecret, timestamp, req!.rawBody, req!.headers['x-signature'])).toBe(true);
    expect(verifyWebhookSignature('other-secret', timestamp, req!.rawBody, req!.headers['x-signature'])).toBe(false);
    expect(verifyWebhookSignature(webhookSecret, timestamp, req!.rawBody.replace('pending', 'resolved'), req!.headers['x-signature'])).toBe(false);
    expect(verifyWebhookSignature(webhookSecret, timestamp, req!.rawBody, req!.headers['x-signature'], { nowMs: Date.now() + 600_000 })).toBe(false);
  });

  it('sends no signature without a secret', async () => {
    const r = await receiver();
    await deliverer().deliver(hook(r.url));
    expect(r.requests[0]!.headers['x-signature']).toBeUndefined();
  });

  it('maps 500, 408 and 429 to retryable (with Retry-After) and 400 to non-retryable', async () => {
    const r = await receiver();
    const d = deliverer({ webhookSecret });
    r.respondWith(500, {}, `echo ${webhookSecret}`);
    const serverError = await failure(d.deliver(hook(r.url)));
    expect(serverError).toMatchObject({ retryable: true, status: 500, channel: 'webhook' });
    expect(serverError.message).toContain('[redacted]');
    r.respondWith(408);
    expect(await failure(d.deliver(hook(r.url)))).toMatchObject({ retryable: true, status: 408 });
    r.respondWith(429, { 'retry-after': '2' });
    expect(await failure(d.deliver(hook(r.url)))).toMatchObject({ retryable: true, status: 429, retryAfterMs: 2000 });
    r.respondWith(400, {}, 'bad payload');
    const rejected = await failure(d.deliver(hook(r.url)));
    expect(rejected).toMatchObject({ retryable: false, status: 400 });
    expect(rejected.retryAfterMs).toBeUndefined();
  });

  it('does not count a redirected POST as delivered', async () => {
    const r = await receiver();
    r.respondNext(302, { location: '/moved' });
    const moved = await failure(deliverer().deliver(hook(`${r.url}/old`)));
    expect(moved).toMatchObject({ retryable: false });
    expect(r.requests.map((q) => q.method)).toEqual(['POST', 'GET']);
  });

  it('times out as retryable', async () => {
    const r = await receiver();
    r.delayResponses(2_000);
    expect(await failure(deliverer({ timeoutMs: 200 }).deliver(hook(r.url)))).toMatchObject({ retryable: true });
  });

  it('refuses metadata and private addresses before connecting, and bad URLs', async () => {
    const d = deliverer({ webhookSecret });
    for (const url of ['http://169.254.169.254/latest/meta-data', 'http://10.0.0.1/hook']) {
      const refused = await failure(d.deliver(hook(url)));
      expect(refused.retryable).toBe(false);
      expect(refused.message).toMatch(/not allow-listed/);
    }
    expect(await failure(d.deliver(hook('not a url')))).toMatchObject({ retryable: false });
    expect(await failure(d.deliver(hook('ftp://127.0.0.1/x')))).toMatchObject({ retryable: false });
  });
});

describe('sms delivery', () => {
  const sms = (to: string, body = 'Escalation ev-1: please look') => note({ channel: 'sms', to, body });

  it('POSTs to, body and reference to the gateway with the bearer token', async () => {
    const r = await receiver();
    r.respondWith(200, { 'content-type': 'application/json' }, '{"messageId":"sms-7"}');
    const d = deliverer({ smsGatewayUrl: `${r.url}/send`, smsGatewayToken: smsToken });
    expect(await d.deliver(sms('+4915112345678', '😀'.repeat(1700)))).toEqual({ providerId: 'sms-7' });
    const [req] = r.requests;
    expect(req!.path).toBe('/send');
    expect(req!.headers.authorization).toBe(`Bearer ${smsToken}`);
    const json = req!.json as { to: string; body: string; reference: string };
    expect(json).toMatchObject({ to: '+4915112345678', reference: 'escalation:ev-1:0:0:n-1' });
    expect(Array.from(json.body)).toHaveLength(1600);
    expect(json.body.endsWith('😀')).toBe(true);
  });

  it('refuses a number that is not E.164 without calling the gateway, and maps gateway answers', async () => {
    const r = await receiver();
    const d = deliverer({ smsGatewayUrl: r.url, smsGatewayToken: smsToken });
    for (const to of ['015112345678', '+0123456789', '+49 151 1234', '+1234']) {
      expect(await failure(d.deliver(sms(to)))).toMatchObject({ retryable: false, channel: 'sms' });
    }
    expect(r.requests).toHaveLength(0);
    r.respondWith(401, {}, `invalid token ${smsToken}`);
    expect(await failure(d.deliver(sms('+15551234567')))).toMatchObject({ retryable: false, status: 401 });
    r.respondWith(503, { 'retry-after': '7' });
    expect(await failure(d.deliver(sms('+15551234567')))).toMatchObject({ retryable: true, retryAfterMs: 7000 });
  });

  it('fails permanently without a gateway or with a gateway the guard refuses', async () => {
    expect(await failure(deliverer().deliver(sms('+15551234567')))).toMatchObject({ retryable: false, message: expect.stringContaining('SMS_GATEWAY_URL') });
    const refused = deliverer({ smsGatewayUrl: 'http://10.0.0.1/sms', smsGatewayToken: smsToken });
    expect(await failure(refused.deliver(sms('+15551234567')))).toMatchObject({ retryable: false });
  });
});
