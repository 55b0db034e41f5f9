import { Injectable } from '@nestjs/common';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { connectionNameSchema, connectionSpecSchema, GatehouseError } from '@gatehouse/config';
import { ConnectionService } from '@gatehouse/connections';
import { ApprovalService, PolicyService, UsageService } from '@gatehouse/governance';
import { AbilityFactory, Principal } from '@gatehouse/identity';
import { errorResult, jsonResult } from '../tools/tool-results';
import { inputSchema, ManagementTool } from './management-tool';
import { approvalTools } from './approval-tools';
import { policyTools } from './policy-tools';
import { usageTools } from './usage-tools';

export const MANAGEMENT_PREFIX = 'gatehouse_';

// Gatehouse's own tools, served next to the downstream ones. They call the same services as the admin API
// and are listed only to principals whose ability allows them.
@Injectable()
export class ManagementTools {
  private readonly tools: ReadonlyMap<string, ManagementTool>;

  constructor(
    private readonly connections: ConnectionService,
    private readonly abilities: AbilityFactory,
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

  isReadOnly(name: string): boolean {
    return this.tools.get(name)?.definition.annotations?.readOnlyHint === true;
  }

  async call(principal: Principal, name: string, args: Record<string, unknown>): Promise<CallToolResult> {
    const tool = this.tools.get(name)!;
    if (this.abilities.forPrincipal(principal).cannot(tool.permission.action, tool.permission.subject)) {
      return errorResult(
        `Permission denied: "${name}" needs the admin role and a read_write key (this key: role ${principal.role}, ${principal.access}).`,
      );
    }
    const parsed = tool.input.safeParse(args);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return errorResult(`Invalid arguments for "${name}": ${issue.path.join('.') || 'arguments'} ${issue.message}.`);
    }
    try {
      return await tool.run(principal, parsed.data);
    } catch (error) {
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
