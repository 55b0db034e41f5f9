import type { ChildProcess } from 'node:child_process';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { BoundedStdioClientTransport } from './bounded-stdio-transport';

// Real child processes (node -e): what the transport reads, cuts and reaps.
function transport(script: string, limits: { maxMessageBytes?: number; maxStderrLineBytes?: number } = {}) {
  const messages: JSONRPCMessage[] = [];
  const stderr: [string, boolean][] = [];
  let overflows = 0;
  let closes = 0;
  const instance = new BoundedStdioClientTransport({
    command: process.execPath,
    args: ['-e', script],
    env: {},
    maxMessageBytes: limits.maxMessageBytes ?? 1_024,
    maxStderrLineBytes: limits.maxStderrLineBytes ?? 1_024,
    onStderrLine: (line, cut) => stderr.push([line, cut]),
    onOverflow: () => overflows++,
  });
  instance.onmessage = (message) => messages.push(message);
  instance.onclose = () => closes++;
  return { instance, messages, stderr, overflows: () => overflows, closes: () => closes };
}

const until = async (what: string, check: () => boolean, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('BoundedStdioClientTransport', () => {
  it('reads a message of exactly maxMessageBytes and echoes what it sends', async () => {
    const message = { jsonrpc: '2.0', method: 'notifications/message', params: { data: '' } };
    const exact = { ...message, params: { data: 'x'.repeat(1_024 - JSON.stringify(message).length) } };
    const child = transport(
      `process.stdout.write(${JSON.stringify(JSON.stringify(exact))} + '\\r\\n');
       require('readline').createInterface({ input: process.stdin }).on('line', (line) => process.stdout.write(line + '\\n'));`,
    );
    await child.instance.start();
    await child.instance.send({ jsonrpc: '2.0', id: 1, method: 'ping' });
    await until('two messages', () => child.messages.length === 2);
    expect(child.messages).toEqual([exact, { jsonrpc: '2.0', id: 1, method: 'ping' }]);
    expect(child.overflows()).toBe(0);
    await child.instance.close();
    expect(child.closes()).toBe(1);
  });

  it('stops reading at a line one byte over maxMessageBytes, reports it once, and the child can be closed', async () => {
    const after = JSON.stringify({ jsonrpc: '2.0', method: 'notifications/after' });
    const child = transport(`process.stdout.write('x'.repeat(1_025) + '\\n' + ${JSON.stringify(after)} + '\\n'); setInterval(() => undefined, 1_000);`);
    await child.instance.start();
    const pid = child.instance.pid!;
    await until('the overflow', () => child.overflows() === 1);
    await child.instance.close();
    // Nothing after the over-long line is read: the stream is not trusted past it.
    expect(child.messages).toEqual([]);
    expect(child.overflows()).toBe(1);
    expect(alive(pid)).toBe(false);
  });

  it('stops an endless line as soon as it passes maxMessageBytes', async () => {
    const child = transport(`setInterval(() => process.stdout.write('x'.repeat(65_536)), 1);`);
    await child.instance.start();
    await until('the overflow', () => child.overflows() === 1);
    await child.instance.close();
    expect(child.messages).toEqual([]);
    expect(child.overflows()).toBe(1);
  });

  it('passes the given environment and the SDK default one, nothing else of the parent', async () => {
    process.env.GATEHOUSE_TEST_SECRET = 'not for children';
    try {
      const child = transport(
        `process.stdout.write(JSON.stringify({ jsonrpc: '2.0', method: 'env', params: { path: !!process.env.PATH, secret: process.env.GATEHOUSE_TEST_SECRET ?? null } }) + '\\n')`,
      );
      await child.instance.start();
      await until('the message', () => child.messages.length === 1);
      expect(child.messages[0]).toMatchObject({ params: { path: true, secret: null } });
      await child.instance.close();
    } finally {
      delete process.env.GATEHOUSE_TEST_SECRET;
    }
  });

  it('cuts a stderr line at maxStderrLineBytes and goes on with the next', async () => {
    const child = transport(`process.stderr.write('e'.repeat(100_000) + '\\nshort\\ntail')`, { maxStderrLineBytes: 256 });
    await child.instance.start();
    await until('the child to exit', () => child.closes() === 1);
    expect(child.stderr).toEqual([
      ['e'.repeat(256), true],
      ['short', false],
      ['tail', false],
    ]);
  });

  it('kills a child that ignores its stdin closing and SIGTERM', async () => {
    const child = transport(`process.on('SIGTERM', () => undefined); setInterval(() => undefined, 1_000);`);
    await child.instance.start();
    const pid = child.instance.pid!;
    await child.instance.close();
    await until('the child to be gone', () => !alive(pid));
    expect(child.closes()).toBe(1);
  }, 15_000);

  it('holds sends while the child does not read, on one listener, and lets them all through once it reads', async () => {
    // The child reads nothing for half a second, then counts the lines it is sent.
    const child = transport(
      `setTimeout(() => { let lines = 0; require('readline').createInterface({ input: process.stdin }).on('line', () => {
         if (++lines === 40) process.stdout.write(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/done' }) + '\\n');
       }); }, 500);`,
    );
    await child.instance.start();
    const stdin = (child.instance as unknown as { process: ChildProcess }).process.stdin!;
    const big = { jsonrpc: '2.0' as const, method: 'notifications/big', params: { data: 'b'.repeat(64 * 1_024) } };
    const sent = Promise.all(Array.from({ length: 40 }, () => child.instance.send(big)));
    expect(stdin.writableNeedDrain).toBe(true);
    expect(stdin.listenerCount('drain')).toBe(1);
    await sent;
    await until('the child to read them all', () => child.messages.length === 1);
    expect(stdin.listenerCount('drain')).toBe(0);
    await child.instance.close();
  });

  it('ends the sends waiting on a child that exits without reading them', async () => {
    const child = transport(`setTimeout(() => process.exit(0), 300);`);
    await child.instance.start();
    const big = { jsonrpc: '2.0' as const, method: 'notifications/big', params: { data: 'b'.repeat(64 * 1_024) } };
    await Promise.all(Array.from({ length: 10 }, () => child.instance.send(big)));
    await until('the child to be gone', () => child.closes() === 1);
  });

  it('rejects start when the command cannot be run', async () => {
    const missing = new BoundedStdioClientTransport({
      command: '/nonexistent/gatehouse-test-command',
      args: [],
      env: {},
      maxMessageBytes: 1_024,
      maxStderrLineBytes: 1_024,
      onStderrLine: () => undefined,
      onOverflow: () => undefined,
    });
    await expect(missing.start()).rejects.toThrow(/ENOENT/);
  });
});
