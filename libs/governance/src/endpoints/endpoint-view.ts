import { EndpointSelection, MANAGEMENT_TOOL_PREFIX, ToolClassName, wildcardMatches } from '@gatehouse/config';
import type { EndpointRecord } from '@gatehouse/db';
import type { PolicyResource } from '../policy/policy-engine';

/** A tool as an endpoint's selection sees it, as the policy does: `tool` is the canonical (prefixed) name. */
export type SelectableTool = Pick<PolicyResource, 'connection' | 'tool' | 'annotations' | 'builtIn'>;

/**
 * What one door of the organization serves, and under which names: `/mcp` (everything, canonical names) or an
 * endpoint. Governance always decides on the canonical name, so a policy means the same through every door; only
 * what is listed and callable, and the names a client sees, differ. Prompts and resources select by connection.
 */
export interface EndpointView {
  /** The endpoint's name; null for /mcp. */
  readonly name: string | null;
  /** Serves one connection's tools under their downstream names. */
  readonly unprefixed: boolean;
  /** That connection, when unprefixed (its prompts and resource URIs are served as the downstream names them). */
  readonly connection: string | null;
  includesConnection(connection: string): boolean;
  includesTool(tool: SelectableTool): boolean;
  /** The name a client sees for a tool (given its canonical and downstream names). */
  exposedName(tool: { canonical: string; downstreamName: string | null }): string;
  /** The canonical name a client's name stands for at this door; null when it names nothing served here. */
  canonicalName(exposed: string): string | null;
}

/** /mcp: every tool of the organization, as exposed. */
export const WHOLE_ORGANIZATION: EndpointView = {
  name: null,
  unprefixed: false,
  connection: null,
  includesConnection: () => true,
  includesTool: () => true,
  exposedName: ({ canonical }) => canonical,
  canonicalName: (exposed) => exposed,
};

/** What the selection needs from the organization as it is now. */
export interface SelectionContext {
  /** The organization's classification (CompiledPolicy.classify: its overrides, then annotations). */
  classify(tool: SelectableTool): ReadonlySet<ToolClassName>;
  tagsOf(connection: string): readonly string[];
  /** Unprefixed endpoints: the canonical name of the connection's tool with this downstream name, if it has one. */
  canonicalOf(connection: string, downstreamName: string): string | null;
}

/** An endpoint's view: its selection over the organization's tools (see endpointSelectionSchema). */
export function selectionView(endpoint: Pick<EndpointRecord, 'name' | 'selection' | 'unprefixed'>, context: SelectionContext): EndpointView {
  const { connections, tags, tools, classes } = endpoint.selection;
  const only = endpoint.unprefixed ? connections![0]! : null;
  const includesConnection = (connection: string): boolean =>
    (connections === undefined && tags === undefined) ||
    (connections?.includes(connection) ?? false) ||
    (tags !== undefined && context.tagsOf(connection).some((tag) => tags.includes(tag)));
  return {
    name: endpoint.name,
    unprefixed: endpoint.unprefixed,
    connection: only,
    includesConnection,
    includesTool: (tool) => {
      if (tool.builtIn) {
        if (only !== null || !namedExplicitly(tools, tool.tool)) return false;
      } else if (!includesConnection(tool.connection) || (tools !== undefined && !tools.some((glob) => wildcardMatches(glob, tool.tool)))) {
        return false;
      }
      return classes === undefined || hasClass(context.classify(tool), classes);
    },
    exposedName: ({ canonical, downstreamName }) => (only !== null && downstreamName !== null ? downstreamName : canonical),
    canonicalName: (exposed) => (only === null ? exposed : context.canonicalOf(only, exposed)),
  };
}

// Gatehouse's own tools come through an endpoint only when a glob that says "gatehouse_" selects them.
function namedExplicitly(tools: EndpointSelection['tools'], name: string): boolean {
  return tools?.some((glob) => glob.startsWith(MANAGEMENT_TOOL_PREFIX) && wildcardMatches(glob, name)) ?? false;
}

function hasClass(of: ReadonlySet<ToolClassName>, wanted: readonly ToolClassName[]): boolean {
  return wanted.some((toolClass) => of.has(toolClass));
}
