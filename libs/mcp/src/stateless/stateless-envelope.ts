import { ClientCapabilities, ClientCapabilitiesSchema, ErrorCode as RpcErrorCode, LoggingLevel, LoggingLevelSchema, RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { Request } from 'express';
import { ProtocolError } from '../tools/protocol-error';

/** The stateless revision (SEP-2575): no initialize, no session; every request carries who is asking in `_meta`. */
export const STATELESS_PROTOCOL_VERSION = '2026-07-28';
export const STATELESS_PROTOCOL_VERSIONS: readonly string[] = [STATELESS_PROTOCOL_VERSION];

export const META = {
  protocolVersion: 'io.modelcontextprotocol/protocolVersion',
  clientInfo: 'io.modelcontextprotocol/clientInfo',
  clientCapabilities: 'io.modelcontextprotocol/clientCapabilities',
  logLevel: 'io.modelcontextprotocol/logLevel',
  serverInfo: 'io.modelcontextprotocol/serverInfo',
} as const;

/** The revision's error codes (SEP-2243, SEP-2575). */
export const STATELESS_ERRORS = { headerMismatch: -32020, missingClientCapability: -32021, unsupportedVersion: -32022 } as const;

/** A request refused before it is served: the HTTP status goes with the JSON-RPC error. */
export class StatelessRefusal extends ProtocolError {
  constructor(
    readonly status: number,
    code: number,
    message: string,
    data?: unknown,
  ) {
    super(code, message, data);
  }
}

/** One request of the stateless revision, its envelope checked. */
export interface StatelessRequest {
  id: RequestId;
  method: string;
  params: Record<string, unknown>;
  capabilities: ClientCapabilities;
  clientInfo: { name: string | null; version: string | null };
  /** The level the client asked log messages from (`_meta`), or null: then none are sent. */
  logLevel: LoggingLevel | null;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Whether a request to /mcp speaks the stateless revision: it names no session and says 2026-07-28 (or a version
 * unknown to 2025's) in its header or its `_meta`. Anything else is left to the session transport, as before.
 */
export function isStatelessRequest(request: Request): boolean {
  if (request.headers['mcp-session-id'] !== undefined) return false;
  const header = request.headers['mcp-protocol-version'];
  if (typeof header === 'string' && STATELESS_PROTOCOL_VERSIONS.includes(header.trim())) return true;
  const body: unknown = request.body;
  return isObject(body) && isObject(body['params']) && isObject(body['params']['_meta']) && META.protocolVersion in body['params']['_meta'];
}

/**
 * The request, or the refusal its envelope earns, in the order the revision checks them: a JSON-RPC request, the
 * version header, the `_meta` envelope, header and body agreeing, a version served, then the standard headers.
 */
export function readStatelessRequest(request: Request): StatelessRequest {
  const body: unknown = request.body;
  if (!isObject(body) || body['jsonrpc'] !== '2.0' || typeof body['method'] !== 'string' || !isRequestId(body['id'])) {
    throw new StatelessRefusal(400, RpcErrorCode.InvalidRequest, 'Invalid Request: MCP 2026-07-28 takes one JSON-RPC request per POST (no batches, no responses)');
  }
  const { id, method } = body;
  const params = body['params'] ?? {};
  if (!isObject(params)) throw new StatelessRefusal(400, RpcErrorCode.InvalidParams, 'Invalid params: params must be an object');
  const header = headerValue(request, 'mcp-protocol-version');
  if (header === undefined) throw new StatelessRefusal(400, STATELESS_ERRORS.headerMismatch, 'Missing MCP-Protocol-Version header: it must repeat _meta["io.modelcontextprotocol/protocolVersion"]');
  const meta = params['_meta'];
  const missing = [META.protocolVersion, META.clientCapabilities].filter((key) => !isObject(meta) || meta[key] === undefined);
  if (!isObject(meta) || missing.length > 0) throw new StatelessRefusal(400, RpcErrorCode.InvalidParams, `Invalid params: _meta must carry ${missing.join(' and ')}`);
  const version = meta[META.protocolVersion];
  if (version !== header) throw new StatelessRefusal(400, STATELESS_ERRORS.headerMismatch, 'Header mismatch: MCP-Protocol-Version differs from _meta["io.modelcontextprotocol/protocolVersion"]');
  if (typeof version !== 'string' || !STATELESS_PROTOCOL_VERSIONS.includes(version)) {
    throw new StatelessRefusal(400, STATELESS_ERRORS.unsupportedVersion, `Unsupported protocol version: this gateway serves ${STATELESS_PROTOCOL_VERSIONS.join(', ')} statelessly (and 2025-11-25 with initialize)`, {
      supported: STATELESS_PROTOCOL_VERSIONS,
      requested: String(version).slice(0, 100),
    });
  }
  checkStandardHeaders(request, method, params);
  const capabilities = ClientCapabilitiesSchema.safeParse(meta[META.clientCapabilities]);
  if (!capabilities.success) throw new StatelessRefusal(400, RpcErrorCode.InvalidParams, 'Invalid params: _meta["io.modelcontextprotocol/clientCapabilities"] is not a ClientCapabilities object');
  const level = meta[META.logLevel] === undefined ? null : LoggingLevelSchema.safeParse(meta[META.logLevel]);
  if (level && !level.success) throw new StatelessRefusal(400, RpcErrorCode.InvalidParams, `Invalid params: _meta["${META.logLevel}"] must be one of ${LoggingLevelSchema.options.join(', ')}`);
  const declared = meta[META.clientInfo];
  const info = isObject(declared) ? declared : {};
  return {
    id,
    method,
    params,
    capabilities: capabilities.data,
    clientInfo: { name: text(info['name']), version: text(info['version']) },
    logLevel: level ? level.data : null,
  };
}

// SEP-2243: Mcp-Method always, Mcp-Name for the methods that name a tool, prompt or resource; a balancer or a
// firewall routes on them, so they must say what the body does.
function checkStandardHeaders(request: Request, method: string, params: Record<string, unknown>): void {
  const methodHeader = headerValue(request, 'mcp-method');
  if (methodHeader !== method) {
    throw new StatelessRefusal(400, STATELESS_ERRORS.headerMismatch, `Header mismatch: Mcp-Method ${methodHeader === undefined ? 'is missing' : 'differs from the body'}; it must be "${method.slice(0, 100)}"`);
  }
  const named = NAMED_BY[method];
  const name = named ? params[named] : undefined;
  if (typeof name !== 'string') return;
  const nameHeader = headerValue(request, 'mcp-name');
  if (nameHeader === undefined || decodeFieldValue(nameHeader) !== name) {
    throw new StatelessRefusal(400, STATELESS_ERRORS.headerMismatch, `Header mismatch: Mcp-Name ${nameHeader === undefined ? 'is missing' : 'differs from the body'}; it must carry params.${named}`);
  }
}

const NAMED_BY: Record<string, 'name' | 'uri'> = { 'tools/call': 'name', 'prompts/get': 'name', 'resources/read': 'uri' };

/** A header's value with the whitespace HTTP field parsing strips; undefined when absent or repeated. */
function headerValue(request: Request, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' ? value.trim() : undefined;
}

// A value that is not plain printable ASCII travels as =?base64?<UTF-8 in base64>?= (SEP-2243).
function decodeFieldValue(value: string): string {
  const match = /^=\?base64\?([A-Za-z0-9+/]*={0,2})\?=$/.exec(value);
  return match ? Buffer.from(match[1]!, 'base64').toString('utf8') : value;
}

function isRequestId(value: unknown): value is RequestId {
  return typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value));
}

// Client-supplied strings, bounded: they go into the audit log as they came.
function text(value: unknown): string | null {
  return typeof value === 'string' ? value.slice(0, 200) : null;
}
