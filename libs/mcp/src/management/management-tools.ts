import { Injectable } from '@nestjs/common';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { CallAudit, CallAuditor, CallAuditStart, CallTarget } from '@gatehouse/audit';
import { connectionNameSchema, connectionSpecSchema, GatehouseError } from '@gatehouse/config';
import { ConnectionService } from '@gatehouse/connections';
import { ApprovalService, EndpointService, Listing, PolicyResource, PolicyService, UsageService, WorkflowRunService, WorkflowService } from '@gatehouse/governance';
import { AbilityFactory, Principal, SCOPE_ADMIN } from '@gatehouse/identity';
import { AuditContext, callAuditStart } from '../tools/call-audit-start';
import { PolicyGate } from '../tools/policy-gate';
import type { CallContext } from '../tools/tool-call.dispatcher';
import { errorResult, jsonResult, refused } from '../tools/tool-results';
import { inputSchema, ManagementTool } from './management-tool';
import { approvalTools } from './approval-tools';
import { endpointTools } from './endpoint-tools';
import { policyTools } from './policy-tools';
import { usageTools } from './usage-tools';
import { workflowTools } from './workflow-tools';

export const MANAGEMENT_PREFIX = 'gatehouse_';
/** The connection name Gatehouse's own tools are audited, held and decided under. */
export const MANAGEMENT_CONNECTION = 'gatehouse';

function targetOf(name: string): CallTarget {
  return { type: 'tool', connection: MANAGEMENT_CONNECTION, tool: name, downstreamTool: null };
}

function resourceOf(tool: ManagementTool): PolicyResource {
  return { connection: MANAGEMENT_CONNECTION, tool: tool.definition.name, annotations: tool.definition.annotations, builtIn: true, sensitive: tool.sensitive === true };
}

/** API keys administer as far as their role allows; an OAuth client only with the person's mcp:admin grant. */
function administers(principal: Principal, tool: ManagementTool): boolean {
  return principal.administration || tool.requesterFacing === true;
}

// Arguments the audit log never keeps, whatever their keys: a new connection's environment and headers are
// its credentials.
const AUDIT_REDACT_PATHS: Readonly<Record<string, readonly string[]>> = {
  gatehouse_create_connection: ['$.env.*', '$.headers.*'],
};

// Gatehouse's own tools, served next to the downstream ones. They call the same services as the admin API
// and are listed only to principals whose ability allows them.
@Injectable()
export class ManagementTools {
  private readonly tools: ReadonlyMap<string, ManagementTool>;

  constructor(
    private readonly connections: ConnectionService,
    private readonly abilities: AbilityFactory,
    private readonly auditor: CallAuditor,
    private readonly gate: PolicyGate,
    policies: PolicyService,
    approvals: ApprovalService,
    usage: UsageService,
    workflows: WorkflowService,
    runs: WorkflowRunService,
    endpoints: EndpointService,
  ) {
    const all: ManagementTool[] = [
      this.listConnections(),
      this.connectionHealth(),
      this.createConnection(),
      ...policyTools(policies),
      ...approvalTools(approvals),
      ...usageTools(usage),
      ...workflowTools(workflows, runs),
      ...endpointTools(endpoints),
    ];
    this.tools = new Map(all.map((tool) => [tool.definition.name, tool]));
  }

  /** The tools this principal may call, as its policy lists them. */
  list(principal: Principal, listing: (resource: PolicyResource) => Listing): Tool[] {
    return this.listings(principal, listing)
      .filter((entry) => entry.listing.listed)
      .map((entry) => entry.tool);
  }

  /** The tools this principal's role and administration allow, each with how the policy lists it. */
  listings(principal: Principal, listing: (resource: PolicyResource) => Listing): { tool: Tool; listing: Listing }[] {
    const ability = this.abilities.forPrincipal(principal);
    return [...this.tools.values()]
      .filter((tool) => ability.can(tool.permission.action, tool.permission.subject) && administers(principal, tool))
      .map((tool) => ({ tool: tool.definition, listing: listing(resourceOf(tool)) }));
  }

  has(name: string): boolean {
    return this.tools.has(name);
  }

  /** How a call of this tool is audited, with the arguments the audit log never keeps. */
  auditStart(principal: Principal, name: string, args: Record<string, unknown>, context: AuditContext): CallAuditStart {
    return callAuditStart(principal, context, targetOf(name), args, AUDIT_REDACT_PATHS[name]);
  }

  isReadOnly(name: string): boolean {
    return this.tools.get(name)?.definition.annotations?.readOnlyHint === true;
  }

  // The same pipeline as a downstream tool: audited (request and outcome records, fail closed before the tool
  // runs), the principal's permission and scope, the arguments, then the organization's policy.
  async call(principal: Principal, name: string, args: Record<string, unknown>, context: CallContext): Promise<CallToolResult> {
    const tool = this.tools.get(name)!;
    const audit = await this.auditor.begin(this.auditStart(principal, name, args, context));
    if (this.abilities.forPrincipal(principal).cannot(tool.permission.action, tool.permission.subject)) {
      audit.decided({ effect: 'deny', rule: { id: null, name: `permission:${tool.permission.action}:${tool.permission.subject}` } });
      const message = `Permission denied: "${name}" needs the admin role and a read_write key (this key: role ${principal.role}, ${principal.access}).`;
      return refused(audit, 'denied', errorResult(message));
    }
    if (!administers(principal, tool)) {
      audit.decided({ effect: 'deny', rule: { id: null, name: `scope:${SCOPE_ADMIN}` } });
      const message =
        `Permission denied: "${name}" administers Gatehouse, and the person who connected this application did not let it ` +
        `administer the organization (the ${SCOPE_ADMIN} scope, which they can grant on the consent page).`;
      return refused(audit, 'denied', errorResult(message));
    }
    const parsed = tool.input.safeParse(args);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return refused(audit, 'invalid', errorResult(`Invalid arguments for "${name}": ${issue.path.join('.') || 'arguments'} ${issue.message}.`));
    }
    const held = { connectionName: MANAGEMENT_CONNECTION, toolName: name, downstreamTool: name, arguments: args };
    const unmeasured = () => undefined;
    const refusal = await this.gate.guard(audit, name, unmeasured, () => this.gate.check(principal, held, resourceOf(tool), audit, unmeasured));
    if (refusal) return refusal;
    return this.run(tool, principal, parsed.data, audit, context);
  }

  /**
   * A call a policy held and approvers approved, run as its requester: their permission is checked again (a
   * demoted requester's approved call does not run), the policy is not (people decided).
   */
  async runApproved(requester: Principal, name: string, args: Record<string, unknown>, audit: CallAudit): Promise<CallToolResult> {
    const tool = this.tools.get(name);
    if (!tool) return refused(audit, 'unavailable', errorResult(`"${name}" is not one of Gatehouse's tools any more; the call was not made.`));
    if (this.abilities.forPrincipal(requester).cannot(tool.permission.action, tool.permission.subject)) {
      return refused(audit, 'denied', errorResult(`Permission denied: the requester (role ${requester.role}) may no longer call "${name}"; the call was not made.`));
    }
    const parsed = tool.input.safeParse(args);
    if (!parsed.success) return refused(audit, 'invalid', errorResult(`The approved arguments of "${name}" are no longer valid; the call was not made.`));
    return this.run(tool, requester, parsed.data, audit);
  }

  /** How the policy sees one of these tools; null when the name is not one of them. */
  policyResource(name: string): PolicyResource | null {
    const tool = this.tools.get(name);
    return tool ? resourceOf(tool) : null;
  }

  /** Argument paths the audit log never keeps for this tool (credentials), besides the keys redacted everywhere. */
  redactPaths(name: string): readonly string[] | undefined {
    return AUDIT_REDACT_PATHS[name];
  }

  private async run(tool: ManagementTool, principal: Principal, input: unknown, audit: CallAudit, context?: CallContext): Promise<CallToolResult> {
    const refusal = await audit.open();
    if (refusal) return errorResult(refusal.message);
    try {
      const result = await tool.run(principal, input, context);
      audit.close(result.isError ? 'tool_error' : 'ok', { result });
      return result;
    } catch (error) {
      audit.close('error', { error: error instanceof GatehouseError ? error.message : 'unexpected error' });
      if (error instanceof GatehouseError) return errorResult(error.message);
      throw error;
    }
  }

  private listConnections(): ManagementTool {
    const input = z.object({}).strict();
    return {
      definition: {
        name: 'gatehouse_list_connections',
        title: 'List connections',
        description: "Lists this organization's downstream MCP connections with their status and tool counts.",
        inputSchema: inputSchema(input),
        annotations: { readOnlyHint: true, openWorldHint: false },
      },
      permission: { action: 'read', subject: 'Connection' },
      input,
      run: async (principal) => {
        const health = await this.connections.health(principal.organizationId);
        return jsonResult({
          connections: health.map(({ id, name, transport, enabled, status, toolCount, lastError }) => ({
            id,
            name,
            transport,
            enabled,
            status,
            toolCount,
            lastError,
          })),
        });
      },
    };
  }

  private connectionHealth(): ManagementTool<z.ZodObject<{ name: z.ZodOptional<typeof connectionNameSchema> }>> {
    const input = z.object({ name: connectionNameSchema.optional().describe('One connection; all when omitted') }).strict();
    return {
      definition: {
        name: 'gatehouse_get_connection_health',
        title: 'Get connection health',
        description: 'Reports the health of one connection (by name) or all: status, last error, tools, restarts.',
        inputSchema: inputSchema(input),
        annotations: { readOnlyHint: true, openWorldHint: false },
      },
      permission: { action: 'read', subject: 'Connection' },
      input,
      run: async (principal, { name }) => {
        const health = await this.connections.health(principal.organizationId);
        if (!name) return jsonResult({ connections: health });
        const one = health.find((connection) => connection.name === name);
        return one ? jsonResult({ connection: one }) : errorResult(`No connection named "${name}" in this organization.`);
      },
    };
  }

  private createConnection(): ManagementTool<typeof connectionSpecSchema> {
    return {
      definition: {
        name: 'gatehouse_create_connection',
        title: 'Create connection',
        description:
          'Adds a downstream MCP server (stdio, streamable HTTP or SSE) to this organization. Admins only. ' +
          'Its tools appear as <name>_<tool>.',
        inputSchema: inputSchema(connectionSpecSchema),
        annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
      },
      permission: { action: 'create', subject: 'Connection' },
      sensitive: true,
      input: connectionSpecSchema,
      run: async (principal, spec) => jsonResult({ connection: await this.connections.create(principal.organizationId, spec) }),
    };
  }
}
