import type { ByteCap } from './downstream.errors';

export interface ByteCaps {
  maxReplyBytes: number;
  maxSseEventBytes: number;
}

/** Counts a body as it arrives: feed() returns the cap a chunk passed, or null. Once over, stop reading. */
export interface BodyMeter {
  feed(chunk: Uint8Array): ByteCap | null;
}

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const SPACE = 0x20;
const DATA_FIELD = Buffer.from('data:');

export function isEventStream(contentType: string | null | undefined): boolean {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase() === 'text/event-stream';
}

/** An event stream is capped per event; any other body (JSON, an error page) is one message, capped whole. */
export function bodyMeter(contentType: string | null | undefined, caps: ByteCaps): BodyMeter {
  return isEventStream(contentType) ? new SseEventMeter(caps.maxSseEventBytes, caps.maxReplyBytes) : new TotalMeter(caps.maxReplyBytes);
}

export class TotalMeter implements BodyMeter {
  private total = 0;

  constructor(private readonly maxBytes: number) {}

  feed(chunk: Uint8Array): ByteCap | null {
    this.total += chunk.length;
    return this.total > this.maxBytes ? 'maxReplyBytes' : null;
  }
}

/**
 * Follows the lines of a server-sent event stream (CRLF, LF or CR; a blank line ends an event) without keeping
 * them, so that what an SSE parser would buffer is bounded before it reaches one:
 * - an event's size is the bytes of its lines, line breaks not counted; a comment line counts while it is
 *   read (a parser holds a partial line) and not once it ends (a parser drops it); over maxEventBytes fails;
 * - its data (the data lines' values joined by "\n", the message a parser hands on) over maxDataBytes fails.
 */
export class SseEventMeter implements BodyMeter {
  private eventBytes = 0;
  /** Data of the event's finished data lines, with the line breaks that join them. */
  private dataBytes = 0;
  private dataLines = 0;
  private lineBytes = 0;
  /** The line's first bytes, enough to tell a data line ("data:", "data: ") and a comment (":"). */
  private readonly head = Buffer.alloc(6);
  private afterCR = false;

  constructor(
    private readonly maxEventBytes: number,
    private readonly maxDataBytes: number,
  ) {}

  feed(chunk: Uint8Array): ByteCap | null {
    let at = 0;
    // Where the next CR and LF are; each is searched for again only once passed, so a chunk is scanned once.
    let nextCR = -2;
    let nextLF = -2;
    while (at < chunk.length) {
      if (this.afterCR) {
        this.afterCR = false;
        if (chunk[at] === LF) {
          at++;
          continue;
        }
      }
      if (nextCR !== -1 && nextCR < at) nextCR = chunk.indexOf(CR, at);
      if (nextLF !== -1 && nextLF < at) nextLF = chunk.indexOf(LF, at);
      const end = nextCR === -1 ? nextLF : nextLF === -1 ? nextCR : Math.min(nextCR, nextLF);
      const stop = end === -1 ? chunk.length : end;
      if (stop > at) {
        const over = this.read(chunk, at, stop);
        if (over) return over;
      }
      if (end === -1) break;
      this.afterCR = chunk[end] === CR;
      if (this.endLine()) return 'maxReplyBytes';
      at = end + 1;
    }
    return null;
  }

  private read(chunk: Uint8Array, from: number, to: number): ByteCap | null {
    for (let at = from; at < to && this.lineBytes + (at - from) < this.head.length; at++) {
      this.head[this.lineBytes + (at - from)] = chunk[at]!;
    }
    this.lineBytes += to - from;
    this.eventBytes += to - from;
    if (this.eventBytes > this.maxEventBytes) return 'maxSseEventBytes';
    return this.isDataLine() && this.eventData() > this.maxDataBytes ? 'maxReplyBytes' : null;
  }

  /** True when the line just ended takes the event's data over maxDataBytes (a bare "data" adds a line break). */
  private endLine(): boolean {
    if (this.lineBytes === 0) {
      this.eventBytes = this.dataBytes = this.dataLines = 0;
      return false;
    }
    if (this.isDataLine() || this.isBareDataField()) {
      this.dataBytes = this.eventData();
      this.dataLines++;
    } else if (this.head[0] === COLON) {
      this.eventBytes -= this.lineBytes;
    }
    this.lineBytes = 0;
    return this.dataBytes > this.maxDataBytes;
  }

  /** The event's data with the current line's value, which starts after "data:" and one optional space. */
  private eventData(): number {
    const prefix = this.lineBytes > DATA_FIELD.length && this.head[DATA_FIELD.length] === SPACE ? DATA_FIELD.length + 1 : DATA_FIELD.length;
    return this.dataBytes + (this.dataLines > 0 ? 1 : 0) + Math.max(0, this.lineBytes - prefix);
  }

  private isDataLine(): boolean {
    return this.lineBytes >= DATA_FIELD.length && this.head.subarray(0, DATA_FIELD.length).equals(DATA_FIELD);
  }

  // "data" alone on a line is a data field with an empty value.
  private isBareDataField(): boolean {
    return this.lineBytes === DATA_FIELD.length - 1 && this.head.subarray(0, DATA_FIELD.length - 1).equals(DATA_FIELD.subarray(0, -1));
  }
}
