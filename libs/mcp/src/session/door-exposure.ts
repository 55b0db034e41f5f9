import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { ContentUris, ExposureView, PREFIXED_VIEW, resolveExposedUri, selectedView, transparentView } from '@gatehouse/connections';
import { EndpointView, WHOLE_ORGANIZATION } from '@gatehouse/governance';
import type { McpRequestExtra } from '../tools/tool-call.dispatcher';

// The door of the HTTP request that carried the message (McpSessions puts it beside the principal): /mcp or an endpoint.
export function doorOf(extra: McpRequestExtra): EndpointView {
  return (extra.authInfo?.extra?.['endpoint'] as EndpointView | undefined) ?? WHOLE_ORGANIZATION;
}

/** How a door names its prompts and resources: prefixed, for the connections it selects, or one connection's as they are. */
export function exposureOf(door: EndpointView): ExposureView {
  if (door === WHOLE_ORGANIZATION) return PREFIXED_VIEW;
  return door.connection !== null ? transparentView(door.connection) : selectedView((connection) => door.includesConnection(connection));
}

// The catalog names a tool's widget template as /mcp serves it (prefixed); an unprefixed door serves the resource under
// the downstream's own URI, so its tools name that one.
const DOWNSTREAM_URIS: ExposureView = { ...PREFIXED_VIEW, uri: (_connection, exposed) => resolveExposedUri(exposed)?.uri ?? exposed };

/** A listed tool's definition as a door serves it: its URIs in `_meta` the ones that door's resources have. */
export function servedDefinition(tool: Tool, connection: string, door: EndpointView): Tool {
  return door.connection === null ? tool : new ContentUris(DOWNSTREAM_URIS, connection).tool(tool);
}
