/**
 * Local receivers for notification tests: a real SMTP server and a real HTTP endpoint (webhooks, SMS
 * gateway) that record exactly what arrived. Both listen on 127.0.0.1, port 0; point a net guard at them
 * with `createNetGuard({ allow: ['127.0.0.1'] })`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/** One message as the SMTP server received it; header lookups are by lower-case name. */
export interface ReceivedMail {
  /** Envelope sender (MAIL FROM). */
  from: string;
  /** Envelope recipients (RCPT TO). */
  to: string[];
  subject: string;
  /** The decoded text body of a single-part message (the raw body for multipart ones). */
  text: string;
  messageId: string | null;
  headers: Map<string, string>;
  raw: string;
  /** The user that authenticated for this message, or null without AUTH. */
  user: string | null;
}

export interface SmtpReceiver {
  port: number;
  /** `smtp://user:pass@127.0.0.1:port` (credentials URL-encoded), ready for SMTP_URL. */
  url: string;
  messages: ReceivedMail[];
  /** Rejects the next RCPT TO with this reply code (550: permanent, 451: temporary), then accepts again. */
  rejectNext(code: number, message?: string): void;
  close(): Promise<void>;
}

/** Starts an SMTP server that requires AUTH PLAIN/LOGIN with `user`/`pass` when given (no TLS). */
export async function startSmtpReceiver(auth?: { user: string; pass: string }): Promise<SmtpReceiver> {
  const messages: ReceivedMail[] = [];
  let rejection: { code: number; message: string } | null = null;
  const server = new SMTPServer({
    authOptional: !auth,
    authMethods: ['PLAIN', 'LOGIN'],
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    closeTimeout: 200,
    onAuth(attempt, _session, callback) {
      if (auth && attempt.username === auth.user && attempt.password === auth.pass) return callback(null, { user: attempt.username });
      callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
    },
    onRcptTo(_address, _session, callback) {
      const reject = rejection;
      rejection = null;
      callback(reject ? Object.assign(new Error(reject.message), { responseCode: reject.code }) : null);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const envelope = session.envelope;
        const from = envelope.mailFrom ? envelope.mailFrom.address : '';
        messages.push(parseMail(Buffer.concat(chunks).toString('utf8'), from, envelope.rcptTo.map((r) => r.address), session.user ?? null));
        callback(null);
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  const credentials = auth ? `${encodeURIComponent(auth.user)}:${encodeURIComponent(auth.pass)}@` : '';
  return {
    port,
    url: `smtp://${credentials}127.0.0.1:${port}`,
    messages,
    rejectNext(code, message = 'rejected by the test receiver') {
      rejection = { code, message };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * Enough RFC 5322 / MIME for what nodemailer sends as a plain-text message: unfolded headers, RFC 2047
 * encoded words in the subject, and a quoted-printable, base64 or 7/8-bit body.
 */
export function parseMail(raw: string, from: string, to: string[], user: string | null): ReceivedMail {
  const split = raw.indexOf('\r\n\r\n');
  const head = split === -1 ? raw : raw.slice(0, split);
  const body = split === -1 ? '' : raw.slice(split + 4);
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const encoding = (headers.get('content-transfer-encoding') ?? '7bit').toLowerCase();
  const multipart = /^multipart\//i.test(headers.get('content-type') ?? '');
  const text = multipart ? body : decodeBody(body, encoding);
  return {
    from,
    to,
    subject: decodeWords(headers.get('subject') ?? ''),
    text: text.replace(/\r\n/g, '\n').replace(/\n$/, ''),
    messageId: headers.get('message-id') ?? null,
    headers,
    raw,
    user,
  };
}

function decodeBody(body: string, encoding: string): string {
  if (encoding === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (encoding === 'quoted-printable') return decodeQuotedPrintable(body.replace(/=\r\n/g, ''));
  return body;
}

function decodeQuotedPrintable(text: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const hex = text[i] === '=' ? text.slice(i + 1, i + 3) : '';
    if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(text[i] ?? '', 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** `=?UTF-8?Q?...?=` and `=?UTF-8?B?...?=`; whitespace between adjacent encoded words is dropped. */
function decodeWords(value: string): string {
  return value
    .replace(/(\?=)\s+(=\?)/g, '$1$2')
    .replace(/=\?[^?]+\?([QqBb])\?([^?]*)\?=/g, (_m, kind: string, data: string) =>
      kind.toUpperCase() === 'B' ? Buffer.from(data, 'base64').toString('utf8') : decodeQuotedPrintable(data.replace(/_/g, ' ')),
    );
}

/** One request as the HTTP receiver got it; header names are lower-case (Node's `IncomingHttpHeaders`). */
export interface ReceivedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  rawBody: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
}

export interface HttpReceiver {
  /** `http://127.0.0.1:port` (no trailing slash); any path is accepted. */
  url: string;
  port: number;
  requests: ReceivedRequest[];
  /** Sets the answer to every following request (default: 200 with `{}`). */
  respondWith(status: number, headers?: Record<string, string>, body?: string): void;
  /** Queues a one-time answer, used before the `respondWith` one (e.g. a 500, then the default 200). */
  respondNext(status: number, headers?: Record<string, string>, body?: string): void;
  /** Holds every following answer this long (0 to stop), e.g. to make a client time out. */
  delayResponses(ms: number): void;
  close(): Promise<void>;
}

/** Starts an HTTP server that records every request and answers as `respondNext` / `respondWith` set. */
export async function startHttpReceiver(): Promise<HttpReceiver> {
  const requests: ReceivedRequest[] = [];
  type Answer = { status: number; headers: Record<string, string>; body: string };
  let answer: Answer = { status: 200, headers: { 'content-type': 'application/json' }, body: '{}' };
  const queued: Answer[] = [];
  let delayMs = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, rawBody, json: parseJson(rawBody) });
      const { status, headers, body } = queued.shift() ?? answer;
      const send = () => res.writeHead(status, headers).end(body);
      if (delayMs > 0) setTimeout(send, delayMs);
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    respondWith(status, headers = {}, body = '') {
      answer = { status, headers, body };
    },
    respondNext(status, headers = {}, body = '') {
      queued.push({ status, headers, body });
    },
    delayResponses(ms) {
      delayMs = ms;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
