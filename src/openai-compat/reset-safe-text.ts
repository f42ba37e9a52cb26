/**
 * Turns a turn's `message.delta` / `message.reset` events into text that only ever grows, as OpenAI streams
 * must (a chunk cannot be taken back). A reset (a retried model attempt) does not clear what was sent: the new
 * attempt's text is held until it passes what was sent, and only the part beyond is emitted, provided the new
 * attempt repeats the sent text. If it says something else, the stream cannot be made right: `push` returns
 * `diverged` and the caller ends the stream with an error (the stored answer is whole; a retry with the same
 * Idempotency-Key returns it).
 */
export class ResetSafeText {
  private sent = '';
  private replay: string | undefined;

  get text(): string {
    return this.sent;
  }

  reset(): void {
    this.replay = '';
  }

  push(text: string): string | { diverged: true } {
    if (this.replay === undefined) {
      this.sent += text;
      return text;
    }
    this.replay += text;
    const n = Math.min(this.replay.length, this.sent.length);
    if (this.replay.slice(0, n) !== this.sent.slice(0, n)) return { diverged: true };
    if (this.replay.length <= this.sent.length) return '';
    const beyond = this.replay.slice(this.sent.length);
    this.sent = this.replay;
    this.replay = undefined;
    return beyond;
  }

  /** What to emit at the end so the streamed text equals `answer`; diverged when it cannot. */
  finish(answer: string): string | { diverged: true } {
    if (this.replay !== undefined && this.replay.length < this.sent.length && answer === this.sent) return '';
    if (!answer.startsWith(this.sent)) return { diverged: true };
    const rest = answer.slice(this.sent.length);
    this.sent = answer;
    return rest;
  }
}
