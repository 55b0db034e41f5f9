import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FetchLike, Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { ConnectionRecord } from '@gatehouse/db';
import { BoundedStdioClientTransport } from './bounded-stdio-transport';

export type DownstreamTarget = Pick<
  ConnectionRecord,
  'transport' | 'url' | 'command' | 'args' | 'cwd' | 'env' | 'headers' | 'maxReplyBytes' | 'maxStderrLineBytes'
>;

export interface TransportHooks {
  /** http and sse: the connection's counting fetch (DownstreamHttp). */
  fetch: FetchLike | null;
  /** stdio: a stdout line passed maxReplyBytes; the transport has stopped reading stdout. */
  onStdoutOverflow(): void;
  onStderrLine(line: string, cut: boolean): void;
}

export function createTransport(target: DownstreamTarget, hooks: TransportHooks): Transport {
  switch (target.transport) {
    case 'stdio':
      return new BoundedStdioClientTransport({
        command: target.command!,
        args: target.args,
        env: target.env,
        ...(target.cwd ? { cwd: target.cwd } : {}),
        maxMessageBytes: target.maxReplyBytes,
        maxStderrLineBytes: target.maxStderrLineBytes,
        onOverflow: () => hooks.onStdoutOverflow(),
        onStderrLine: (line, cut) => hooks.onStderrLine(line, cut),
      });
    case 'http':
      return new StreamableHTTPClientTransport(new URL(target.url!), { fetch: hooks.fetch!, requestInit: { headers: target.headers } });
    case 'sse':
      // The SDK's event stream uses this fetch too, with requestInit's headers.
      return new SSEClientTransport(new URL(target.url!), { fetch: hooks.fetch!, requestInit: { headers: target.headers } });
  }
}
