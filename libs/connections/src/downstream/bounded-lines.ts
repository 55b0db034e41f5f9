const LF = 0x0a;

export interface LineHandlers {
  /** A whole line of at most maxLineBytes bytes, without its "\n". */
  line(line: Buffer): void;
  /** A line passed maxLineBytes: its first maxLineBytes bytes. The rest of it is skipped, never held. */
  long(prefix: Buffer): void;
}

/**
 * Splits a byte stream into "\n"-terminated lines while holding at most maxLineBytes of the current line,
 * unlike readline or a buffer that grows until the newline comes (which may be never).
 */
export class BoundedLineSplitter {
  private parts: Buffer[] = [];
  private held = 0;
  private skipping = false;
  private stopped = false;

  constructor(
    private readonly maxLineBytes: number,
    private readonly handlers: LineHandlers,
  ) {}

  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length && !this.stopped) {
      const newline = chunk.indexOf(LF, at);
      const end = newline === -1 ? chunk.length : newline;
      if (!this.skipping) this.hold(chunk, at, end);
      if (newline === -1 || this.stopped) return;
      if (this.skipping) this.skipping = false;
      else this.handlers.line(this.take());
      at = newline + 1;
    }
  }

  /** The stream ended: a last line without "\n" is still a line. */
  end(): void {
    if (!this.stopped && !this.skipping && this.held > 0) this.handlers.line(this.take());
    this.stop();
  }

  /** Nothing more is split or reported (the reader gave up on the stream). */
  stop(): void {
    this.stopped = true;
    this.parts = [];
    this.held = 0;
  }

  private hold(chunk: Buffer, from: number, to: number): void {
    if (to === from) return;
    if (this.held + (to - from) <= this.maxLineBytes) {
      this.parts.push(chunk.subarray(from, to));
      this.held += to - from;
      return;
    }
    this.parts.push(chunk.subarray(from, from + (this.maxLineBytes - this.held)));
    this.held = this.maxLineBytes;
    this.skipping = true;
    this.handlers.long(this.take());
  }

  private take(): Buffer {
    const line = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.held);
    this.parts = [];
    this.held = 0;
    return line;
  }
}
