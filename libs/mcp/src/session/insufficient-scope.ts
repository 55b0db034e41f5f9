import { ErrorCode as RpcErrorCode, RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { Response } from 'express';
import type { EndpointView } from '@gatehouse/governance';
import { OAuthSettings, SCOPE_READ, SCOPE_WRITE } from '@gatehouse/identity';

/**
 * MCP's scope challenge for a tools/call of a tool that writes, made with a token holding only read scope: HTTP 403
 * insufficient_scope lets the client ask the person for more, instead of only failing. Both revisions answer it so.
 */
export function writeInsufficientScope(response: Response, oauth: OAuthSettings, id: RequestId, tool: string, door: EndpointView): void {
  const message = `"${tool}" is not a read-only tool, and this access token has only ${SCOPE_READ}: authorize again with ${SCOPE_WRITE}`;
  response
    .status(403)
    .set(
      'WWW-Authenticate',
      `Bearer error="insufficient_scope", scope="${SCOPE_READ} ${SCOPE_WRITE}", resource_metadata="${oauth.protectedResourceMetadataUrlFor(door.name)}", error_description="${message.replace(/"/g, "'")}"`,
    )
    .json({ jsonrpc: '2.0', id, error: { code: RpcErrorCode.InvalidRequest, message } });
}
