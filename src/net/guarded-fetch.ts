import type { LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { pipeline, type Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import zlib from 'node:zlib';
import type { NetGuard } from './net-guard.js';
import { OutboundError } from './outbound-error.js';

const maxRedirects = 5;
const redirectStatuses = new Set([301, 302, 303, 307, 308]);
/** Credentials meant for one origin; dropped when a redirect leaves it (as browsers' fetch does for Authorization). */
const defaultSensitiveHeaders = ['authorization', 'proxy-authorization', 'cookie'];

export interface GuardedFetchInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Aborts DNS, connect and body reading; an abort surfaces as OutboundError `timeout`. */
  signal: AbortSignal;
  /** Bytes of (decompressed) body kept; the rest is never read. */
  maxResponseBytes: number;
  /** Extra header names (e.g. a custom API-key header) to drop on a cross-origin redirect. */
  sensitiveHeaders?: string[];
  /** `false` answers a redirect as it is (webhook deliveries, whose signed POST must not move elsewhere). */
  followRedirects?: boolean;
}

export interface GuardedResponse {
  status: number;
  headers: Headers;
  /** The body decoded as UTF-8, cut at `maxResponseBytes`. */
  body: string;
  truncated: boolean;
  /** The URL that answered, after redirects. */
  url: string;
}

/**
 * An HTTP client for tool calls that only reaches addresses the guard accepts. Each hop is resolved and
 * checked before any socket opens and then connected to the checked address itself (the Host header and
 * TLS SNI keep the name), so neither a DNS rebind nor a redirect can steer it to an internal service.
 * Redirects are followed by hand, at most five, each re-checked.
 * @throws OutboundError `forbidden` (guard), `timeout` (signal), `network` (DNS, connect, reset), `client_error` (too many redirects).
 */
export async function guardedFetch(guard: NetGuard, url: string | URL, init: GuardedFetchInit): Promise<GuardedResponse> {
  let current: URL;
  try {
    current = new URL(url);
  } catch {
    throw new OutboundError('invalid_input', 'invalid URL'); // the URL itself is not echoed: it may carry a key
  }
  let method = (init.method ?? 'GET').toUpperCase();
  let body = init.body;
  let headers = { ...init.headers };
  const sensitive = new Set([...defaultSensitiveHeaders, ...(init.sensitiveHeaders ?? []).map((h) => h.toLowerCase())]);
  try {
    for (let hop = 0; ; hop++) {
      const addresses = await guard.resolve(current, init.signal);
      const response = await requestOnce(current, addresses, { method, headers, body, signal: init.signal, maxResponseBytes: init.maxResponseBytes });
      const location = redirectStatuses.has(response.status) ? response.headers.get('location') : null;
      if (location === null || init.followRedirects === false) return response;
      if (hop === maxRedirects) throw new OutboundError('client_error', `more than ${maxRedirects} redirects`);
      const next = new URL(location, current);
      // Fetch semantics: 303 always becomes GET; 301/302 turn a POST into a GET; 307/308 replay method and body.
      if ((response.status === 303 && method !== 'HEAD') || ((response.status === 301 || response.status === 302) && method === 'POST')) {
        method = 'GET';
        body = undefined;
        headers = omit(headers, new Set(['content-type', 'content-length']));
      }
      if (next.origin !== current.origin) headers = omit(headers, sensitive);
      current = next;
    }
  } catch (err) {
    throw toOutboundError(err, init.signal);
  }
}

interface OnceOptions {
  method: string;
  headers: Record<string, string>;
  body: string | Buffer | undefined;
  signal: AbortSignal;
  maxResponseBytes: number;
}

function requestOnce(url: URL, addresses: LookupAddress[], opts: OnceOptions): Promise<GuardedResponse> {
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    let settled = false;
    let req: http.ClientRequest | undefined;
    let source: Readable | undefined;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      opts.signal.removeEventListener('abort', onAbort);
      fn();
    };
    const fail = (err: unknown) => settle(() => reject(toOutboundError(err, opts.signal)));
    const onAbort = () => {
      req?.destroy();
      source?.destroy();
      fail(opts.signal.reason);
    };
    if (opts.signal.aborted) return fail(opts.signal.reason);
    opts.signal.addEventListener('abort', onAbort, { once: true });

    try {
      req = client.request(url, {
        method: opts.method,
        headers: { 'accept-encoding': 'gzip, deflate, br', ...opts.headers },
        // A fresh connection per request: a pooled socket must not outlive the check that admitted it.
        agent: false,
        lookup: pinnedLookup(addresses),
      });
    } catch (err) {
      // Synchronous refusals are bad input, e.g. a header value with a newline.
      return settle(() => reject(new OutboundError('invalid_input', `invalid request: ${(err as Error).message}`)));
    }
    req.on('error', fail);
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      const headers = toHeaders(res.headers);
      const done = (body: string, truncated: boolean) => settle(() => resolve({ status, headers, body, truncated, url: url.href }));
      if (redirectStatuses.has(status) && headers.has('location')) {
        res.destroy(); // a redirect's body is never needed
        return done('', false);
      }
      const body = decompress(res, headers.get('content-encoding'), fail);
      source = body;
      const decoder = new StringDecoder('utf8');
      let size = 0;
      let text = '';
      body.on('data', (chunk: Buffer) => {
        if (size + chunk.length > opts.maxResponseBytes) {
          // Keep what fits and hang up: an endless or huge body costs at most the limit.
          text += decoder.write(chunk.subarray(0, opts.maxResponseBytes - size));
          body.destroy();
          res.destroy();
          return done(text, true);
        }
        size += chunk.length;
        text += decoder.write(chunk);
      });
      body.on('end', () => done(text + decoder.end(), false));
      body.on('error', fail);
    });
    req.end(opts.body);
  });
}

/** Serves the connection's own DNS query from the already-checked addresses, so a rebind cannot swap them. */
export function pinnedLookup(addresses: LookupAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    const family = options.family === 4 || options.family === 6 ? options.family : 0;
    const candidates = family ? addresses.filter((a) => a.family === family) : addresses;
    const first = candidates[0];
    if (!first) return callback(Object.assign(new Error('no checked address of the requested family'), { code: 'ENOTFOUND' }), '');
    if (options.all) return callback(null, candidates);
    callback(null, first.address, first.family);
  };
}

function decompress(res: http.IncomingMessage, encoding: string | null, onError: (err: unknown) => void): Readable {
  const decoder =
    encoding === 'gzip' || encoding === 'x-gzip' ? zlib.createGunzip()
    : encoding === 'deflate' ? zlib.createInflate()
    : encoding === 'br' ? zlib.createBrotliDecompress()
    : undefined;
  if (!decoder) return res;
  pipeline(res, decoder, (err) => err && onError(err));
  return decoder;
}

export function toHeaders(raw: http.IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) headers.append(name, v);
  }
  return headers;
}

function omit(headers: Record<string, string>, names: Set<string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !names.has(name.toLowerCase())));
}

function toOutboundError(err: unknown, signal: AbortSignal): OutboundError {
  if (err instanceof OutboundError) return err;
  if (signal.aborted) return new OutboundError('timeout', 'the request was aborted (tool timeout or cancellation)');
  const code = (err as NodeJS.ErrnoException).code;
  return new OutboundError('network', `request failed: ${code ?? (err as Error).message}`);
}
