// A JSON-RPC error for the SDK to send as is. (McpError would prefix its message with "MCP error <code>:",
// and the client's McpError adds that prefix again.)
export class ProtocolError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}
