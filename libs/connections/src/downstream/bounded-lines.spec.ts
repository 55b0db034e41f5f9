import { BoundedLineSplitter } from './bounded-lines';

type Event = ['line' | 'long', string];

// What a splitter reports for a stream, fed whole, in two halves and byte by byte (the same each way).
function split(maxLineBytes: number, stream: string, end = false): Event[] {
  const bytes = Buffer.from(stream);
  const feedings = [[bytes], [bytes.subarray(0, bytes.length >> 1), bytes.subarray(bytes.length >> 1)], [...bytes].map((byte) => Buffer.from([byte]))];
  const results = feedings.map((chunks) => {
    const events: Event[] = [];
    const splitter = new BoundedLineSplitter(maxLineBytes, {
      line: (line) => events.push(['line', line.toString()]),
      long: (prefix) => events.push(['long', prefix.toString()]),
    });
    for (const chunk of chunks) splitter.push(chunk);
    if (end) splitter.end();
    return events;
  });
  expect(results[1]).toEqual(results[0]);
  expect(results[2]).toEqual(results[0]);
  return results[0]!;
}

describe('BoundedLineSplitter', () => {
  it('passes a line of exactly maxLineBytes and cuts one byte over, keeping the first maxLineBytes', () => {
    expect(split(5, '12345\n')).toEqual([['line', '12345']]);
    expect(split(5, '123456\n')).toEqual([['long', '12345']]);
  });

  it('reports an endless line as soon as it passes the cap, skips the rest and goes on at the next line', () => {
    expect(split(4, `${'x'.repeat(1_000)}\nok\n${'y'.repeat(10)}`)).toEqual([
      ['long', 'xxxx'],
      ['line', 'ok'],
      ['long', 'yyyy'],
    ]);
  });

  it('splits several lines in a chunk, empty ones included, and holds a partial line until its newline', () => {
    expect(split(10, 'a\n\nbc\nde')).toEqual([
      ['line', 'a'],
      ['line', ''],
      ['line', 'bc'],
    ]);
    expect(split(10, 'a\nde', true)).toEqual([
      ['line', 'a'],
      ['line', 'de'],
    ]);
  });

  it('reports nothing once stopped, even from the rest of the chunk it is in', () => {
    const lines: string[] = [];
    const splitter = new BoundedLineSplitter(3, {
      line: (line) => lines.push(line.toString()),
      long: () => splitter.stop(),
    });
    splitter.push(Buffer.from('ok\ntoo long\nafter\n'));
    splitter.end();
    expect(lines).toEqual(['ok']);
  });
});
