import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

/** A tool result the assistant can relay to a person: refusals and failures are results, not protocol errors. */
export function errorResult(message: string, structured?: Record<string, unknown>): CallToolResult {
  return {
    isError: true,
    content: [{ type: 'text', text: message }],
    ...(structured ? { structuredContent: structured } : {}),
  };
}

export function jsonResult(value: Record<string, unknown>): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(value, null, 2) }], structuredContent: value };
}
