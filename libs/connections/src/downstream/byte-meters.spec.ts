import { BodyMeter, bodyMeter, SseEventMeter, TotalMeter } from './byte-meters';

// The cap a body passes, fed whole, in two halves and byte by byte: the result must not depend on chunking.
function meter(make: () => BodyMeter, body: string): string | null {
  const bytes = Buffer.from(body);
  const feedings = [[bytes], [bytes.subarray(0, bytes.length >> 1), bytes.subarray(bytes.length >> 1)], [...bytes].map((byte) => Buffer.from([byte]))];
  const results = feedings.map((chunks) => {
    const instance = make();
    for (const chunk of chunks) {
      const over = instance.feed(chunk);
      if (over) return over;
    }
    return null;
  });
  expect(new Set(results).size).toBe(1);
  return results[0]!;
}

const sse = (maxEventBytes: number, maxDataBytes: number) => () => new SseEventMeter(maxEventBytes, maxDataBytes);

describe('TotalMeter', () => {
  it('passes a body of exactly the cap and fails one byte over', () => {
    expect(meter(() => new TotalMeter(10), '0123456789')).toBeNull();
    expect(meter(() => new TotalMeter(10), '0123456789!')).toBe('maxReplyBytes');
  });

  it('counts bytes, not characters', () => {
    expect(meter(() => new TotalMeter(4), 'ééé')).toBe('maxReplyBytes');
    expect(meter(() => new TotalMeter(6), 'ééé')).toBeNull();
  });
});

describe('SseEventMeter', () => {
  it('passes an event of exactly maxEventBytes (line breaks not counted) and fails one byte over', () => {
    // "data: " (6) + 14 = 20 bytes of line.
    expect(meter(sse(20, 1_000), `data: ${'x'.repeat(14)}\n\n`)).toBeNull();
    expect(meter(sse(20, 1_000), `data: ${'x'.repeat(15)}\n\n`)).toBe('maxSseEventBytes');
    expect(meter(sse(20, 1_000), `event: message\nid: 12\n\n`)).toBeNull();
    expect(meter(sse(20, 1_000), `event: message\nid: 123\n\n`)).toBe('maxSseEventBytes');
  });

  it("passes data of exactly maxDataBytes (the values joined by \\n) and fails one byte over", () => {
    expect(meter(sse(1_000, 10), `data: ${'x'.repeat(10)}\n\n`)).toBeNull();
    expect(meter(sse(1_000, 10), `data: ${'x'.repeat(11)}\n\n`)).toBe('maxReplyBytes');
    // "abc" + "\n" + "de" + "\n" + "" (a bare data field) = 7
    expect(meter(sse(1_000, 7), 'data: abc\ndata:de\ndata\n\n')).toBeNull();
    expect(meter(sse(1_000, 6), 'data: abc\ndata:de\ndata\n\n')).toBe('maxReplyBytes');
    // Only the first space after the colon is not data.
    expect(meter(sse(1_000, 4), 'data:  abc\n\n')).toBeNull();
    expect(meter(sse(1_000, 3), 'data:  abc\n\n')).toBe('maxReplyBytes');
  });

  it('fails an endless line before it ends', () => {
    expect(meter(sse(20, 20), `data: ${'x'.repeat(100)}`)).toBe('maxSseEventBytes');
    expect(meter(sse(1_000, 20), `data: ${'x'.repeat(100)}`)).toBe('maxReplyBytes');
    expect(meter(sse(20, 20), `: ${'keep-alive '.repeat(10)}`)).toBe('maxSseEventBytes');
  });

  it('starts counting again at each blank line, whatever the line breaks', () => {
    const event = `data: ${'x'.repeat(14)}`;
    for (const eol of ['\n', '\r\n', '\r']) {
      expect(meter(sse(20, 20), `${event}${eol}${eol}`.repeat(5))).toBeNull();
      expect(meter(sse(20, 20), `${event}${eol}${event}${eol}${eol}`)).toBe('maxSseEventBytes');
    }
  });

  it('does not count comment lines once they end (a parser drops them)', () => {
    const comments = `: ${'ping '.repeat(3)}\n`.repeat(50);
    expect(meter(sse(20, 20), `${comments}data: ${'x'.repeat(14)}\n\n`)).toBeNull();
  });
});

describe('bodyMeter', () => {
  it('caps an event stream per event and anything else as a whole', () => {
    const caps = { maxReplyBytes: 10, maxSseEventBytes: 20 };
    const events = `data: ${'x'.repeat(10)}\n\n`.repeat(10);
    expect(meter(() => bodyMeter('text/event-stream; charset=utf-8', caps), events)).toBeNull();
    expect(meter(() => bodyMeter('application/json', caps), events)).toBe('maxReplyBytes');
    expect(meter(() => bodyMeter(null, caps), '0123456789')).toBeNull();
  });
});
