/**
 * Turns a turn's `message.delta` / `message.reset` / `tool.started` events into text that only ever grows, as
 * OpenAI streams must (a chunk cannot be taken back).
 *
 * A turn is a series of model steps; a step that calls tools may say something first ("Let me look that
 * up."). That text was streamed and stays: `step()` closes the step, and the next step's text follows after a
 * blank line. Resets and the stored answer concern the current step only, since `message.reset` is written
 * per model call and the stored answer is the last step's text.
 *
 * A reset (a retried model attempt) does not clear what was sent: the new attempt's text is held until it
 * passes what the step had sent, and only the part beyond is emitted, provided the new attempt repeats the
 * sent text. If it says something else, the stream cannot be made right: `push` returns `diverged` and the
 * caller ends the stream with an error (the stored answer is whole; a retry with the same Idempotency-Key
 * returns it).
 */
export class ResetSafeText {
  /** Text of the earlier steps, separators included, as sent. */
  private before = '';
  /** Text of the current step as sent. */
  private sent = '';
  private replay: string | undefined;

  get text(): string {
    return this.before + this.sent;
  }

  reset(): void {
    this.replay = '';
  }

  /** The current model step ended in tool calls: its text is kept as sent, and a new step begins. */
  step(): void {
    this.before += this.sent;
    this.sent = '';
    this.replay = undefined;
  }

  push(text: string): string | { diverged: true } {
    if (this.replay === undefined) return this.emit(text);
    this.replay += text;
    const n = Math.min(this.replay.length, this.sent.length);
    if (this.replay.slice(0, n) !== this.sent.slice(0, n)) return { diverged: true };
    if (this.replay.length <= this.sent.length) return '';
    const beyond = this.replay.slice(this.sent.length);
    this.replay = undefined;
    return this.emit(beyond);
  }

  /** What to emit at the end so the current step's text equals `answer`; diverged when it cannot. */
  finish(answer: string): string | { diverged: true } {
    if (this.replay !== undefined && this.replay.length < this.sent.length && answer === this.sent) return '';
    if (!answer.startsWith(this.sent)) return { diverged: true };
    return this.emit(answer.slice(this.sent.length));
  }

  /** Appends to the current step, opening it with a blank line after earlier steps' text. */
  private emit(text: string): string {
    if (!text) return '';
    const separator = this.sent === '' && this.before !== '' ? '\n\n' : '';
    this.before += separator;
    this.sent += text;
    return separator + text;
  }
}
