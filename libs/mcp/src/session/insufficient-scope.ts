import { ErrorCode as RpcErrorCode, RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { ServerResponse } from 'node:http';
import type { EndpointView } from '@gatehouse/governance';
import { OAuthSettings, SCOPE_READ, SCOPE_WRITE } from '@gatehouse/identity';
import { writeJson } from './json-rpc-response';

/**
 * MCP's scope challenge for a tools/call of a tool that writes, made with a token holding only read scope: HTTP 403
 * insufficient_scope lets the client ask the person for more, instead of only failing. Both revisions answer it so.
 */
export function writeInsufficientScope(response: ServerResponse, oauth: OAuthSettings, id: RequestId, tool: string, door: EndpointView): void {
  const message = `"${tool}" is not a read-only tool, and this access token has only ${SCOPE_READ}: authorize again with ${SCOPE_WRITE}`;
  response.setHeader(
    'WWW-Authenticate',
    `Bearer error="insufficient_scope", scope="${SCOPE_READ} ${SCOPE_WRITE}", resource_metadata="${oauth.protectedResourceMetadataUrlFor(door.name)}", error_description="${message.replace(/"/g, "'")}"`,
  );
  writeJson(response, 403, { jsonrpc: '2.0', id, error: { code: RpcErrorCode.InvalidRequest, message } });
}
