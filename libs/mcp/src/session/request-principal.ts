import { ErrorCode as RpcErrorCode } from '@modelcontextprotocol/sdk/types.js';
import type { Principal } from '@gatehouse/identity';
import { ProtocolError } from '../tools/protocol-error';
import type { McpRequestExtra } from '../tools/tool-call.dispatcher';

// The principal of the HTTP request that carried the message: access is re-checked on every request,
// so a revoked key cannot keep using a session it opened earlier.
export function principalOf(extra: McpRequestExtra): Principal {
  const principal = extra.authInfo?.extra?.['principal'] as Principal | undefined;
  if (!principal) throw new ProtocolError(RpcErrorCode.InvalidRequest, 'Unauthenticated request');
  return principal;
}

// The session McpSessions checked for this request (its transport is stateless: the SDK's own sessionId is unset).
export function sessionIdOf(extra: McpRequestExtra): string | null {
  const sessionId = extra.authInfo?.extra?.['sessionId'];
  return typeof sessionId === 'string' ? sessionId : (extra.sessionId ?? null);
}
