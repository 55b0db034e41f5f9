import { Injectable } from '@nestjs/common';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  JSONRPCMessage,
  ListToolsRequestSchema,
  ListToolsResult,
  LoggingLevel,
  SetLevelRequestSchema,
  Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { AuditRecorder } from '@gatehouse/audit';
import { AppConfig, ApprovalSettings, GATEHOUSE_VERSION } from '@gatehouse/config';
import { catalogResource, ConnectionRegistry } from '@gatehouse/connections';
import { DecidingRule, EndpointView, Listing, ToolAccessPolicy, ToolLister, WHOLE_ORGANIZATION } from '@gatehouse/governance';
import { auditActorOf, Principal } from '@gatehouse/identity';
import { SessionClient, streamClientChannel } from '../relay/client-channel';
import { PendingClientRequests } from '../relay/pending-client-requests';
import { ContentHandlers } from './content-handlers';
import { doorOf, servedDefinition } from './door-exposure';
import { pageOf } from './list-pages';
import { principalOf, sessionIdOf } from './request-principal';
import { MANAGEMENT_CONNECTION, ManagementTools } from '../management/management-tools';
import { McpRequestExtra, sdkCallContext, ToolCallDispatcher } from '../tools/tool-call.dispatcher';

const INSTRUCTIONS =
  'Gatehouse aggregates several MCP servers. Each tool and prompt is named <connection>_<name>; each resource URI names its connection after the scheme (scheme://<connection>/...); gatehouse_* tools manage the gateway itself.';
const UNPREFIXED_INSTRUCTIONS = "Gatehouse serves one MCP server's tools here under their own names, governed by the organization's policy.";

/** What the server tells a client at this door, in initialize (2025-11-25) or server/discover (2026-07-28). */
export function serverInstructions(door: EndpointView): string {
  return door.unprefixed ? UNPREFIXED_INSTRUCTIONS : INSTRUCTIONS;
}

/** How one tool appears to a principal: what its tools/list shows, or the rule that hides it. */
export interface ToolView {
  tool: Tool;
  connection: string;
  /** The tool's name at its server (null for Gatehouse's own). */
  downstreamName: string | null;
  /** One of Gatehouse's own tools. */
  builtIn: boolean;
  listing: Listing;
}

/** The session a Server serves one request of. */
export interface ServedSession {
  id: string;
  client: SessionClient;
  /** Keeps the level logging/setLevel set, for every replica. */
  setLogLevel(level: LoggingLevel): Promise<void>;
}

// Not a policy rule: a read-only credential never sees a tool that writes, whatever the policy says.
export const READ_ONLY_ACCESS: DecidingRule = { id: null, name: 'access:read-only', description: 'a read-only credential sees only the tools classified read' };

@Injectable()
export class McpServerFactory {
  constructor(
    private readonly config: AppConfig,
    private readonly registry: ConnectionRegistry,
    private readonly management: ManagementTools,
    private readonly dispatcher: ToolCallDispatcher,
    private readonly access: ToolAccessPolicy,
    private readonly recorder: AuditRecorder,
    private readonly content: ContentHandlers,
    private readonly pending: PendingClientRequests,
  ) {}

  /**
   * The server of one request of a session: `session` its client (its log level logging/setLevel sets); `door` where
   * it was opened (its instructions; each request carries its own view).
   */
  create(session: ServedSession, door: EndpointView = WHOLE_ORGANIZATION): Server {
    const { client } = session;
    const server = new Server(
      { name: 'gatehouse', title: 'Gatehouse', version: GATEHOUSE_VERSION },
      {
        capabilities: {
          tools: { listChanged: true },
          prompts: { listChanged: true },
          resources: { subscribe: true, listChanged: true },
          completions: {},
          logging: {},
        },
        instructions: serverInstructions(door),
      },
    );
    // Prompts, resources, their templates, subscriptions and completions of the downstreams.
    this.content.register(server);
    server.setRequestHandler(ListToolsRequestSchema, async (request, extra) => {
      const principal = principalOf(extra);
      const result = await this.listTools(principal, doorOf(extra), request.params?.cursor);
      await this.recorder.record({
        organizationId: principal.organizationId,
        kind: 'tools.list',
        actor: auditActorOf(principal),
        target: { type: 'mcp_session', id: sessionIdOf(extra) },
        outcome: 'success',
        data: {
          count: result.tools.length,
          cursor: request.params?.cursor !== undefined,
          more: result.nextCursor !== undefined,
          ...(doorOf(extra).name ? { endpoint: doorOf(extra).name } : {}),
        },
      });
      return result;
    });
    // Most tools/call requests never get here: ToolCallExchange answers them without the SDK's per-message
    // stream machinery. This handler serves the rest (batches, requests it leaves to the SDK).
    server.setRequestHandler(CallToolRequestSchema, (request, extra) => {
      const { name, arguments: args = {} } = request.params;
      // Requests to the client go out on the call's stream; the answer, POSTed on any replica, comes back through
      // PendingClientRequests (this Server lives for this one HTTP request only).
      const send = (message: object) => void server.transport?.send(message as JSONRPCMessage, { relatedRequestId: extra.requestId });
      const channel = streamClientChannel(client, session.id, this.pending, send);
      return this.dispatcher.call(principalOf(extra), name, args, sdkCallContext(extra, channel));
    });
    // In place of the SDK's own handler: the level is kept with the session, where both call paths read it.
    server.setRequestHandler(SetLevelRequestSchema, async (request) => {
      client.logLevel = request.params.level;
      await session.setLogLevel(request.params.level);
      return {};
    });
    return server;
  }

  /**
   * What this principal may see: read-only credentials see the tools the organization classifies read-only (its
   * tool classes, else the server's annotations); the policy hides what it never allows.
   */
  async visibleTools(principal: Principal, door: EndpointView = WHOLE_ORGANIZATION): Promise<Tool[]> {
    return this.toolViews(principal, await this.access.lister(principal)).flatMap(({ tool, connection, downstreamName, listing, builtIn }) => {
      if (!listing.listed || !door.includesTool({ connection, tool: tool.name, annotations: tool.annotations, builtIn })) return [];
      const named = door.unprefixed ? { ...servedDefinition(tool, connection, door), name: door.exposedName({ canonical: tool.name, downstreamName }) } : tool;
      return [listing.approval && !builtIn ? withApprovalNote(named, listing.approval) : named];
    });
  }

  /** Every tool the principal's role reaches, listed or hidden (and by what), under the given lister's policy. */
  toolViews(principal: Principal, lister: ToolLister): ToolView[] {
    const management = this.management.listings(principal, lister.listing).map(({ tool, listing }) => ({ tool, connection: MANAGEMENT_CONNECTION, downstreamName: null, builtIn: true, listing }));
    const downstream = this.registry.list(principal.organizationId).map((tool): ToolView => {
      const resource = catalogResource(tool);
      const listing: Listing = principal.access !== 'read_write' && !lister.readOnly(resource) ? { listed: false, rule: READ_ONLY_ACCESS } : lister.listing(resource);
      return { tool: tool.definition, connection: tool.connectionName, downstreamName: tool.downstreamName, builtIn: false, listing };
    });
    return [...management, ...downstream];
  }

  private async listTools(principal: Principal, door: EndpointView, cursor: string | undefined): Promise<ListToolsResult> {
    const all = await this.visibleTools(principal, door);
    const pageSize = this.config.env.GATEHOUSE_TOOLS_PAGE_SIZE;
    const { items, nextCursor } = pageOf(all, cursor, pageSize, 'tools/list');
    return { tools: items, ...(nextCursor ? { nextCursor } : {}) };
  }
}

// The assistant reads descriptions: it should know before calling that a person will have to approve.
function withApprovalNote(tool: Tool, approval: ApprovalSettings): Tool {
  const approvers = approval.approverRoles.join(' or ');
  const note = `Requires approval: ${approval.approvals === 1 ? 'an' : approval.approvals} ${approvers}${approval.approvals === 1 ? '' : 's'} must approve each call.`;
  return { ...tool, description: tool.description ? `${tool.description}\n\n${note}` : note };
}
