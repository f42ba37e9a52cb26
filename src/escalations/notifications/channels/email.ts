import { createHash } from 'node:crypto';
import nodemailer, { type Transporter } from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool';
import { DeliveryError, redact, type DeliveryReceipt, type OutgoingNotification } from './channel-common.js';

export interface EmailChannelOptions {
  /** `smtp://user:pass@host:port` or `smtps://…` (user and password URL-encoded). */
  smtpUrl?: string;
  smtpFrom: string;
  /** Connection, greeting and socket-idle timeout of each SMTP step. */
  timeoutMs: number;
}

export interface EmailChannel {
  send(n: OutgoingNotification, signal: AbortSignal): Promise<DeliveryReceipt>;
  /** Closes the pooled connections; a later `send` opens a new pool. */
  close(): Promise<void>;
}

/** Failures without an SMTP reply that no retry can fix: bad envelope, oversized message, bad settings. */
const permanentCodes = new Set(['EENVELOPE', 'EMESSAGE', 'EAUTH', 'ENOAUTH', 'ECONFIG', 'EREQUIRETLS']);
const address = /^[^\s@<>,;"]+@[^\s@<>,;"]+$/;

/** E-mail over a pooled SMTP transport, created on the first send so a worker without SMTP opens nothing. */
export function createEmailChannel(opts: EmailChannelOptions): EmailChannel {
  let transport: Transporter<SMTPPool.SentMessageInfo> | null = null;
  let secrets: string[] = [];

  const connect = (): Transporter<SMTPPool.SentMessageInfo> => {
    if (transport) return transport;
    if (!opts.smtpUrl) throw new DeliveryError('email', 'SMTP is not configured (SMTP_URL)', { retryable: false });
    const smtp = parseSmtpUrl(opts.smtpUrl);
    secrets = smtp.auth ? [smtp.auth.pass, encodeURIComponent(smtp.auth.pass)] : [];
    transport = nodemailer.createTransport({
      pool: true,
      ...smtp,
      connectionTimeout: opts.timeoutMs,
      greetingTimeout: opts.timeoutMs,
      socketTimeout: opts.timeoutMs,
    });
    return transport;
  };

  return {
    async send(n, signal) {
      const mailer = connect();
      if (signal.aborted) throw abortedError();
      if (!address.test(n.to)) throw new DeliveryError('email', 'the recipient is not a valid e-mail address', { retryable: false });
      const sending = mailer.sendMail({
        from: opts.smtpFrom,
        to: n.to,
        subject: n.subject || subjectFromBody(n.body),
        text: n.body,
        messageId: messageIdFor(n.idempotencyKey, opts.smtpFrom),
        headers: { 'X-Escalation-Event': n.eventId, 'X-Escalation-Notification': n.notificationId },
      });
      try {
        const info = await untilAborted(sending, signal);
        return { providerId: info.messageId };
      } catch (err) {
        throw err instanceof DeliveryError ? err : smtpFailure(err, secrets);
      }
    },
    async close() {
      transport?.close();
      transport = null;
    },
  };
}

/**
 * The same idempotency key always yields the same Message-ID, so a message sent twice (an attempt that
 * timed out after the server accepted it) is recognisable as one downstream.
 */
export function messageIdFor(idempotencyKey: string, from: string): string {
  const domain = /@([A-Za-z0-9.-]+)>?\s*$/.exec(from)?.[1] ?? 'smart-agents.invalid';
  return `<${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 40)}@${domain}>`;
}

function subjectFromBody(body: string): string {
  const firstLine = body.split(/\r?\n/).find((line) => line.trim() !== '')?.trim() ?? '';
  return firstLine.slice(0, 200) || 'Escalation notification';
}

type SmtpSettings = { host: string; port?: number; secure: boolean; auth?: { user: string; pass: string } };

/** Parsed here rather than by nodemailer so errors never quote the URL and its password. */
function parseSmtpUrl(text: string): SmtpSettings {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new DeliveryError('email', 'SMTP_URL is not a valid smtp:// or smtps:// URL', { retryable: false });
  }
  if ((url.protocol !== 'smtp:' && url.protocol !== 'smtps:') || !url.hostname) {
    throw new DeliveryError('email', 'SMTP_URL is not a valid smtp:// or smtps:// URL', { retryable: false });
  }
  const settings: SmtpSettings = { host: url.hostname.replace(/^\[|\]$/g, ''), secure: url.protocol === 'smtps:' };
  if (url.port) settings.port = Number(url.port);
  if (url.username) settings.auth = { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) };
  return settings;
}

/** SMTP 5xx replies are permanent; 4xx replies, dropped connections and timeouts are worth another attempt. */
function smtpFailure(err: unknown, secrets: string[]): DeliveryError {
  const e = err as { code?: string; responseCode?: number; command?: string; response?: string };
  const reply = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  const retryable = reply !== undefined ? reply < 500 : !permanentCodes.has(e.code ?? '');
  // Only our own words and the server's reply: nodemailer's messages are not vetted for credentials.
  const detail = redact(e.response ?? (err as Error).message ?? e.code ?? 'unknown error', secrets).slice(0, 300);
  const message = `SMTP ${e.command ?? 'delivery'} failed: ${detail}`;
  return new DeliveryError('email', message, reply === undefined ? { retryable } : { retryable, status: reply });
}

/** nodemailer cannot cancel a send; stop waiting for it (the socket timeouts still bound the send itself). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortedError());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort)).catch(() => undefined);
  });
}

function abortedError(): DeliveryError {
  return new DeliveryError('email', 'the send was aborted (timeout or cancellation)', { retryable: true });
}
