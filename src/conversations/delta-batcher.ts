import type { NewTurnEvent } from './turn-events.js';

export interface DeltaBatcherOptions {
  /** Writes events in order; the batcher never runs two writes at once. */
  write: (events: NewTurnEvent[]) => Promise<unknown>;
  /** Makes each event's key: `<keyPrefix>:delta:<n>`, n from 1 (deterministic per model attempt). */
  keyPrefix: string;
  /** Text waits at most this long before it is written (a few batches a second). */
  flushMs?: number;
  /** A batch this long is written at once, without waiting for the timer. */
  maxChars?: number;
  /** Told after every written batch (the activity heartbeats there). */
  onWritten?: () => void;
}

/**
 * Turns a model's stream of text pieces into a few `message.delta` events a second: the first piece is written
 * at once, on the next turn of the event loop (time to first token is what a user notices), later pieces are gathered for up to `flushMs` or
 * `maxChars`. Writes run one after another, so the events' order is the text's order; the texts of all
 * events concatenate to exactly the text pushed. A failed write is kept and thrown by {@link finish}.
 */
export class DeltaBatcher {
  private buffer = '';
  private chunks = 0;
  private writing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private error: unknown;
  private readonly flushMs: number;
  private readonly maxChars: number;

  constructor(private readonly options: DeltaBatcherOptions) {
    this.flushMs = options.flushMs ?? 250;
    this.maxChars = options.maxChars ?? 4_000;
  }

  push(text: string): void {
    if (!text) return;
    this.buffer += text;
    if (this.buffer.length >= this.maxChars) this.flush();
    // The first piece goes out on the next turn of the event loop: a model that streams is still generating then, so
    // the write takes nothing from the time to first token; an answer that arrived whole (its end parsed from the
    // same read as its start) is handed to the caller by takeRest and written with the turn's completion instead of
    // in a transaction of its own that the completion would have to wait for.
    else if (this.chunks === 0) this.immediate ??= setImmediate(() => this.flush());
    else this.timer ??= setTimeout(() => this.flush(), this.flushMs);
  }

  /** Writes what is left and waits for every write; throws the first write error. */
  async finish(): Promise<void> {
    this.flush();
    await this.writing;
    if (this.error !== undefined) throw this.error;
  }

  /**
   * The call failed: drops the unwritten text and waits for writes under way, so none lands after the failure
   * is reported (and after the retry's `message.reset`). A retry writes its own events.
   */
  async abandon(): Promise<void> {
    this.stopTimers();
    this.buffer = '';
    await this.writing;
  }

  /**
   * Ends the stream without writing what is left: waits for the writes under way and returns the unwritten
   * text as its event, for the caller to write in a transaction of its own (a turn's completion writes its last
   * delta with `turn.completed`, one transaction fewer per turn). Throws the first write error.
   */
  async takeRest(): Promise<NewTurnEvent[]> {
    this.stopTimers();
    await this.writing;
    if (this.error !== undefined) throw this.error;
    const event = this.nextEvent();
    return event ? [event] : [];
  }

  private nextEvent(): NewTurnEvent | undefined {
    if (!this.buffer) return undefined;
    this.chunks += 1;
    const event: NewTurnEvent = { key: `${this.options.keyPrefix}:delta:${this.chunks}`, type: 'message.delta', data: { text: this.buffer } };
    this.buffer = '';
    return event;
  }

  private stopTimers(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    clearImmediate(this.immediate);
    this.immediate = undefined;
  }

  private flush(): void {
    this.stopTimers();
    const event = this.nextEvent();
    if (!event) return;
    this.writing = this.writing.then(async () => {
      if (this.error !== undefined) return;
      try {
        await this.options.write([event]);
        this.options.onWritten?.();
      } catch (err) {
        this.error = err;
      }
    });
  }
}
