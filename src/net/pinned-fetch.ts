import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import { pinnedLookup, toHeaders } from './guarded-fetch.js';
import type { NetGuard } from './net-guard.js';

const nullBodyStatuses = new Set([101, 204, 205, 304]);

/**
 * A `fetch` for clients that bring their own HTTP code and need a streamed body (the MCP SDK reads
 * Server-Sent Events). Like {@link guardedFetch}, every request is resolved and checked by the guard and
 * then connected to the checked address itself (no second DNS query a rebinding server could answer
 * differently). Redirects are never followed: the 3xx is handed back as it is, and the client treats it
 * as an error, so a server cannot walk the client to an address the guard did not judge.
 * @throws OutboundError `forbidden` when the guard refuses; the request's own errors otherwise.
 */
export function createPinnedFetch(guard: NetGuard): typeof fetch {
  return async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    const addresses = await guard.resolve(url, request.signal);
    const body = request.body ? Buffer.from(await request.arrayBuffer()) : undefined;
    const client = url.protocol === 'https:' ? https : http;
    return new Promise<Response>((resolve, reject) => {
      const headers = Object.fromEntries(request.headers);
      if (body) headers['content-length'] = String(body.length);
      const req = client.request(url, {
        method: request.method,
        headers,
        // A fresh connection per request: a pooled socket must not outlive the check that admitted it.
        agent: false,
        lookup: pinnedLookup(addresses),
        signal: request.signal,
      });
      req.on('error', reject);
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        const empty = nullBodyStatuses.has(status) || request.method === 'HEAD';
        if (empty) res.resume();
        const stream = empty ? null : (Readable.toWeb(res) as unknown as ReadableStream<Uint8Array>);
        resolve(new Response(stream, { status, statusText: res.statusMessage, headers: toHeaders(res.headers) }));
      });
      req.end(body);
    });
  };
}
