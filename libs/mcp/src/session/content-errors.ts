import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { ErrorCode as RpcErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { ErrorCode, GatehouseError } from '@gatehouse/config';
import { describeError, isMalformedReply } from '@gatehouse/connections';
import { ProtocolError } from '../tools/protocol-error';

/** MCP 2025-11-25: a resource that does not exist. */
export const RESOURCE_NOT_FOUND = -32002;
/** Gatehouse's own server error: the organization's policy denies the principal this prompt or resource. */
export const POLICY_DENIED = -32003;

// Codes a downstream may answer with that say something about the request (kept, with our own words); anything
// else becomes an internal error. A downstream's message is never passed on (describeError).
const DOWNSTREAM_CODES: ReadonlySet<number> = new Set([RpcErrorCode.InvalidParams, RpcErrorCode.MethodNotFound, RESOURCE_NOT_FOUND]);

const shown = (text: string) => JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text);

export const CONTENT_ERRORS = {
  unknownPrompt: (name: string) => new ProtocolError(RpcErrorCode.InvalidParams, `Unknown prompt ${shown(name)}. Call prompts/list for the available prompts.`),
  resourceNotFound: (uri: string) =>
    new ProtocolError(RESOURCE_NOT_FOUND, `Resource not found: ${shown(uri)} is not a resource of this gateway. Read URIs as resources/list and resources/templates/list show them.`),
  denied: (why: string) => new ProtocolError(POLICY_DENIED, `Permission denied: ${why}.`),
};

/** The outcome an audit record gives a failure. */
export function failureOutcome(error: unknown): 'invalid' | 'not_found' | 'denied' | 'failure' {
  if (!(error instanceof ProtocolError)) return 'failure';
  switch (error.code) {
    case POLICY_DENIED:
      return 'denied';
    case RESOURCE_NOT_FOUND:
      return 'not_found';
    case RpcErrorCode.InvalidParams:
    case RpcErrorCode.InvalidRequest:
    case RpcErrorCode.MethodNotFound:
      return 'invalid';
    default:
      return 'failure';
  }
}

/**
 * A failed downstream request as the JSON-RPC error the client gets: Gatehouse's errors as they are (their messages
 * are ours), a downstream's JSON-RPC error by its code alone, anything unexpected with an error id that is logged.
 */
export function contentError(error: unknown, connection: string, method: string, logger: Logger): ProtocolError {
  if (error instanceof ProtocolError) return error;
  if (error instanceof GatehouseError) return new ProtocolError(rpcCodeOf(error.code), error.message);
  if (error instanceof McpError && DOWNSTREAM_CODES.has(error.code)) {
    return new ProtocolError(error.code, `Connection "${connection}" refused ${method}: ${describeError(error)}`);
  }
  if (error instanceof McpError || isMalformedReply(error)) {
    return new ProtocolError(RpcErrorCode.InternalError, `Connection "${connection}" failed ${method}: ${describeError(error)}`);
  }
  const errorId = randomUUID();
  logger.error({ err: error, errorId, connection, method }, 'Unexpected error relaying a request to a downstream');
  return new ProtocolError(RpcErrorCode.InternalError, `Gatehouse could not complete ${method} on connection "${connection}" (error id ${errorId})`);
}

function rpcCodeOf(code: ErrorCode): number {
  switch (code) {
    case ErrorCode.InvalidInput:
      return RpcErrorCode.InvalidParams;
    case ErrorCode.NotFound:
      return RESOURCE_NOT_FOUND;
    case ErrorCode.Forbidden:
    case ErrorCode.Unauthenticated:
      return POLICY_DENIED;
    case ErrorCode.Conflict:
    case ErrorCode.DownstreamUnavailable:
    case ErrorCode.DownstreamTimeout:
    case ErrorCode.DownstreamError:
    case ErrorCode.DownstreamTooLarge:
    case ErrorCode.ShuttingDown:
    case ErrorCode.RateLimited:
      return RpcErrorCode.InternalError;
  }
}
