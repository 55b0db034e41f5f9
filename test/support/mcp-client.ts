import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { ClientCapabilities, Tool } from '@modelcontextprotocol/sdk/types.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { deliverInArrivalOrder } from '@gatehouse/connections';

/** An MCP client as ChatGPT or Claude would use it: streamable HTTP with a bearer token. */
export async function connectClient(
  mcpUrl: string,
  token: string,
  name = 'test-client',
  options: { capabilities?: ClientCapabilities; setup?: (client: Client) => void; fetch?: FetchLike } = {},
): Promise<Client> {
  const client = new Client({ name, version: '1.0.0' }, { capabilities: options.capabilities ?? {} });
  // Handlers for requests from the server (elicitation, sampling) go in before initialize.
  options.setup?.(client);
  const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  await client.connect(transport);
  // The SDK client can drop the last progress notification before a result (see deliverInArrivalOrder).
  deliverInArrivalOrder(transport);
  return client;
}

/** Every page of tools/list. */
export async function listAllTools(client: Client): Promise<Tool[]> {
  const tools: Tool[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.listTools(cursor ? { cursor } : {});
    tools.push(...page.tools);
    cursor = page.nextCursor;
  } while (cursor);
  return tools;
}

/** The text parts of a tool result (callTool's type is a union with the legacy toolResult form). */
export function textOf(result: unknown): string {
  const content = ((result as { content?: unknown }).content ?? []) as { type: string; text?: string }[];
  return content
    .filter((item) => item.type === 'text')
    .map((item) => item.text)
    .join('\n');
}
