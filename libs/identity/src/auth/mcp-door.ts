import type { Request } from 'express';
import { ENDPOINT_NAME_PATTERN } from '@gatehouse/config';
import type { Principal } from './principal';

/**
 * The door a credential is presented at: the admin API, or MCP at `/mcp` (endpoint null) or `/mcp/<endpoint>`.
 * Endpoint names are per organization, so a door names one only together with the principal's organization.
 */
export type Door = { kind: 'admin' } | { kind: 'mcp'; endpoint: string | null };

export const ADMIN_DOOR: Door = { kind: 'admin' };

/**
 * The MCP door of a request's path: null for /mcp, the endpoint's name for /mcp/<name>, undefined for any other
 * path or a segment that is not an endpoint name (uppercase, "..", an encoded "/", overlong). Read from originalUrl:
 * middleware mounted on a route sees its path stripped from `path`.
 */
export function mcpDoorOf(request: Pick<Request, 'originalUrl'>): string | null | undefined {
  const path = request.originalUrl.split('?', 1)[0]!.replace(/\/+$/, '');
  if (path.toLowerCase() === '/mcp') return null;
  const match = /^\/mcp\/([^/]*)$/i.exec(path);
  if (!match) return undefined;
  let name: string;
  try {
    name = decodeURIComponent(match[1]!);
  } catch {
    return undefined;
  }
  return ENDPOINT_NAME_PATTERN.test(name) ? name : undefined;
}

/**
 * Why this principal may not use this door, or null when it may. An endpoint key (or an OAuth grant issued for an
 * endpoint's URL) works at that endpoint only, never on the admin API; an OAuth grant issued for /mcp works at
 * /mcp only (RFC 8707: a token is for the resource it was issued for). An API key with no endpoint opens every MCP
 * door of its organization.
 */
export function doorRefusal(principal: Pick<Principal, 'kind' | 'endpoint'>, door: Door): string | null {
  const bound = principal.endpoint?.name ?? null;
  if (door.kind === 'admin') return bound === null ? null : `This key is for MCP endpoint "${bound}" only (/mcp/${bound}); the admin API takes other keys`;
  if (bound !== null) return door.endpoint === bound ? null : `This credential is for MCP endpoint "${bound}" only: use it at /mcp/${bound}`;
  if (principal.kind === 'oauth' && door.endpoint !== null) {
    return `This access token was issued for /mcp, not /mcp/${door.endpoint}: authorize again for the endpoint's URL`;
  }
  return null;
}
