import { Injectable } from '@nestjs/common';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { ToolClassName } from '@gatehouse/config';
import { CatalogTool, catalogResource, ConnectionService, isNewToolPin } from '@gatehouse/connections';
import { BudgetSettings } from '../budget/budget-settings.service';
import { PolicyService } from '../policy/policy.service';

/** accepted: served as pinned; new / changed: held back until an admin accepts it (see ToolChangeService). */
export type ToolPinState = 'accepted' | 'new' | 'changed';

/** One of a connection's tools as the organization governs it: how the policy classes it, its price, its pin. */
export interface GovernedTool {
  /** The exposed name. */
  name: string;
  downstreamName: string;
  title: string | null;
  description: string | null;
  inputSchema: Tool['inputSchema'];
  outputSchema: NonNullable<Tool['outputSchema']> | null;
  annotations: NonNullable<Tool['annotations']> | null;
  hash: string;
  /** From the organization's tool-class overrides, else the server's annotations: what policy rules match on. */
  classes: ToolClassName[];
  perCallMicros: number;
  pin: ToolPinState;
}

@Injectable()
export class ConnectionToolsService {
  constructor(
    private readonly connections: ConnectionService,
    private readonly policies: PolicyService,
    private readonly budgets: BudgetSettings,
  ) {}

  async list(organizationId: string, connectionId: string): Promise<GovernedTool[]> {
    const catalog = await this.connections.tools(organizationId, connectionId);
    const [policy, { costs }] = await Promise.all([this.policies.policyFor(organizationId), this.budgets.forOrganization(organizationId)]);
    const governed = (tool: CatalogTool, pin: ToolPinState): GovernedTool => ({
      name: tool.exposedName,
      downstreamName: tool.downstreamName,
      title: tool.definition.title ?? null,
      description: tool.definition.description ?? null,
      inputSchema: tool.definition.inputSchema,
      outputSchema: tool.definition.outputSchema ?? null,
      annotations: tool.definition.annotations ?? null,
      hash: tool.hash,
      classes: [...policy.classify(catalogResource(tool))],
      perCallMicros: Number(costs.costOf(catalog.connectionName, tool.downstreamName)),
      pin,
    });
    return [
      ...catalog.listed.map((tool) => governed(tool, 'accepted')),
      ...catalog.heldBack.map((held) => governed(held.tool, isNewToolPin(held.pinned) ? 'new' : 'changed')),
    ];
  }
}
