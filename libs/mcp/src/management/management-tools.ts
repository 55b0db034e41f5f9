import { Injectable } from '@nestjs/common';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { CallAuditor, CallAuditStart } from '@gatehouse/audit';
import { connectionNameSchema, connectionSpecSchema, GatehouseError } from '@gatehouse/config';
import { ConnectionService } from '@gatehouse/connections';
import { ApprovalService, PolicyService, UsageService } from '@gatehouse/governance';
import { AbilityFactory, Principal } from '@gatehouse/identity';
import { AuditContext, callAuditStart } from '../tools/call-audit-start';
import type { CallContext } from '../tools/tool-call.dispatcher';
import { errorResult, jsonResult, refused } from '../tools/tool-results';
import { inputSchema, ManagementTool } from './management-tool';
import { approvalTools } from './approval-tools';
import { policyTools } from './policy-tools';
import { usageTools } from './usage-tools';

export const MANAGEMENT_PREFIX = 'gatehouse_';

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
    policies: PolicyService,
    approvals: ApprovalService,
    usage: UsageService,
  ) {
    const all: ManagementTool[] = [this.listConnections(), this.connectionHealth(), this.createConnection(), ...policyTools(policies), ...approvalTools(approvals), ...usageTools(usage)];
    this.tools = new Map(all.map((tool) => [tool.definition.name, tool]));
  }

  list(principal: Principal): Tool[] {
    const ability = this.abilities.forPrincipal(principal);
    return [...this.tools.values()]
      .filter((tool) => ability.can(tool.permission.action, tool.permission.subject))
      .map((tool) => tool.definition);
  }

  has(name: string): boolean {
    return this.tools.has(name);
  }

  /** How a call of this tool is audited, with the arguments the audit log never keeps. */
  auditStart(principal: Principal, name: string, args: Record<string, unknown>, context: AuditContext): CallAuditStart {
    const target = { type: 'tool' as const, connection: 'gatehouse', tool: name, downstreamTool: null };
    return callAuditStart(principal, context, target, args, AUDIT_REDACT_PATHS[name]);
  }

  isReadOnly(name: string): boolean {
    return this.tools.get(name)?.definition.annotations?.readOnlyHint === true;
  }

  // Audited like any tools/call: request and outcome records, and fail closed before the tool runs.
  async call(principal: Principal, name: string, args: Record<string, unknown>, context: CallContext): Promise<CallToolResult> {
    const tool = this.tools.get(name)!;
    const audit = await this.auditor.begin(this.auditStart(principal, name, args, context));
    if (this.abilities.forPrincipal(principal).cannot(tool.permission.action, tool.permission.subject)) {
      audit.decided({ effect: 'deny', rule: { id: null, name: `permission:${tool.permission.action}:${tool.permission.subject}` } });
      const message = `Permission denied: "${name}" needs the admin role and a read_write key (this key: role ${principal.role}, ${principal.access}).`;
      return refused(audit, 'denied', errorResult(message));
    }
    const parsed = tool.input.safeParse(args);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return refused(audit, 'invalid', errorResult(`Invalid arguments for "${name}": ${issue.path.join('.') || 'arguments'} ${issue.message}.`));
    }
    const refusal = await audit.open();
    if (refusal) return errorResult(refusal.message);
    try {
      const result = await tool.run(principal, parsed.data);
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
      input: connectionSpecSchema,
      run: async (principal, spec) => jsonResult({ connection: await this.connections.create(principal.organizationId, spec) }),
    };
  }
}
