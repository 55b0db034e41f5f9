import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { Logger } from '@nestjs/common';
import { streamDownload } from './export-stream';

// Enough of a ServerResponse to observe writes, backpressure and a client going away.
class FakeResponse extends EventEmitter {
  headersSent = false;
  headers: Record<string, string> = {};
  written: string[] = [];
  ended = false;
  destroyed = false;
  constructor(private readonly accept: (index: number) => boolean) {
    super();
  }
  setHeader(name: string, value: string) {
    this.headers[name.toLowerCase()] = value;
  }
  write(chunk: string) {
    this.headersSent = true;
    this.written.push(chunk);
    return this.accept(this.written.length - 1);
  }
  end() {
    this.ended = true;
  }
  destroy() {
    this.destroyed = true;
  }
}

const download = (chunks: AsyncIterable<string>) => ({ contentType: 'text/csv', filename: 'a.csv', chunks });
const asResponse = (fake: FakeResponse) => fake as unknown as ServerResponse;

describe('streamDownload', () => {
  it('waits for drain before asking for the next chunk', async () => {
    const response = new FakeResponse((index) => index !== 0);
    const produced: number[] = [];
    async function* chunks() {
      for (let i = 0; i < 3; i++) {
        produced.push(i);
        yield `c${i}`;
      }
    }
    const done = streamDownload(asResponse(response), download(chunks()));
    await new Promise((resolve) => setImmediate(resolve));
    expect(produced).toEqual([0]);
    expect(response.headers).toMatchObject({ 'content-type': 'text/csv', 'content-disposition': 'attachment; filename="a.csv"' });
    response.emit('drain');
    await done;
    expect(response.written).toEqual(['c0', 'c1', 'c2']);
    expect(response.ended).toBe(true);
  });

  it('stops the walk when the client disconnects', async () => {
    const response = new FakeResponse(() => false);
    let finished = false;
    async function* chunks() {
      try {
        for (let i = 0; ; i++) yield `c${i}`;
      } finally {
        finished = true;
      }
    }
    const done = streamDownload(asResponse(response), download(chunks()));
    await new Promise((resolve) => setImmediate(resolve));
    response.emit('close');
    await done;
    expect(response.written).toEqual(['c0']);
    expect(finished).toBe(true);
    expect(response.ended).toBe(false);
  });

  it('rethrows an error before the first write, and aborts the connection after it', async () => {
    async function* failing(after: number) {
      for (let i = 0; i < after; i++) yield `c${i}`;
      throw new Error('database gone');
    }
    const early = new FakeResponse(() => true);
    await expect(streamDownload(asResponse(early), download(failing(0)))).rejects.toThrow('database gone');
    expect(early.headers).toEqual({});

    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const late = new FakeResponse(() => true);
    await streamDownload(asResponse(late), download(failing(2)));
    expect(late.destroyed).toBe(true);
    expect(late.ended).toBe(false);
    expect(logged).toHaveBeenCalledTimes(1);
    logged.mockRestore();
  });
});
