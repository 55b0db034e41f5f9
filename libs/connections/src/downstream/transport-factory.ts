import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { ConnectionRecord } from '@gatehouse/db';

export type DownstreamTarget = Pick<
  ConnectionRecord,
  'transport' | 'url' | 'command' | 'args' | 'cwd' | 'env' | 'headers'
>;

export function createTransport(target: DownstreamTarget): Transport {
  switch (target.transport) {
    case 'stdio':
      return new StdioClientTransport({
        command: target.command!,
        args: target.args,
        env: target.env,
        ...(target.cwd ? { cwd: target.cwd } : {}),
        stderr: 'pipe',
      });
    case 'http':
      return new StreamableHTTPClientTransport(new URL(target.url!), { requestInit: { headers: target.headers } });
    case 'sse':
      return new SSEClientTransport(new URL(target.url!), {
        requestInit: { headers: target.headers },
        eventSourceInit: { fetch: (url, init) => fetch(url, { ...init, headers: { ...target.headers, ...init?.headers } }) },
      });
  }
}
