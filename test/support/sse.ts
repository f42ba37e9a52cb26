import { createParser, type EventSourceMessage } from 'eventsource-parser';

/** One parsed SSE event, with its JSON `data:` already parsed. */
export interface SseEvent {
  id: string | undefined;
  event: string | undefined;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  data: any;
}

/**
 * A Server-Sent Events stream read with `fetch` and parsed by `eventsource-parser`, as a client would. Events
 * and comment lines collect as they arrive; `next()` waits for the next event, `done` settles when the server
 * ends the stream. A non-SSE answer (a JSON refusal) is read whole into `json`.
 */
export async function openSse(url: string, init: { method?: string; headers?: Record<string, string>; body?: unknown } = {}) {
  const controller = new AbortController();
  const res = await fetch(url, {
    method: init.method ?? 'GET',
    headers: { accept: 'text/event-stream', ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}), ...init.headers },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    signal: controller.signal,
  });
  const events: SseEvent[] = [];
  const comments: string[] = [];
  const isStream = (res.headers.get('content-type') ?? '').startsWith('text/event-stream');
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const json: any = isStream ? undefined : await res.json();
  let notify: (() => void) | undefined;
  const parser = createParser({
    onEvent: (m: EventSourceMessage) => {
      events.push({ id: m.id, event: m.event, data: JSON.parse(m.data) });
      notify?.();
    },
    onComment: (c) => comments.push(c),
  });
  let ended = false;
  const done = (async () => {
    if (!isStream || !res.body) return;
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body) parser.feed(decoder.decode(chunk as Uint8Array, { stream: true }));
    } catch (err) {
      if (!controller.signal.aborted) throw err;
    } finally {
      ended = true;
      notify?.();
    }
  })();
  let read = 0;
  return {
    status: res.status,
    headers: res.headers,
    json,
    events,
    comments,
    done,
    /** The next event not yet returned; rejects if the stream ends first. */
    async next(): Promise<SseEvent> {
      while (read >= events.length) {
        if (ended) throw new Error(`the stream ended after ${events.length} events`);
        await new Promise<void>((resolve) => (notify = resolve));
      }
      return events[read++]!;
    },
    /** Disconnects, as a client that goes away mid-stream. */
    close: async () => {
      controller.abort();
      await done.catch(() => {});
    },
  };
}

export type SseStream = Awaited<ReturnType<typeof openSse>>;
