import { UsageQuery, UsageService, usageQuerySchema } from '@gatehouse/governance';
import { jsonResult } from '../tools/tool-results';
import { inputSchema, ManagementTool } from './management-tool';

// gatehouse_get_usage_stats: the admin API's usage report, for assistants.
export function usageTools(usage: UsageService): ManagementTool[] {
  return [
    {
      definition: {
        name: 'gatehouse_get_usage_stats',
        title: 'Get usage stats',
        description:
          "Reports this organization's tool calls and their cost (USD) for a time range, by connection, tool or member. " +
          'Defaults to the current month (UTC). Admins only.',
        inputSchema: inputSchema(usageQuerySchema),
        annotations: { readOnlyHint: true, openWorldHint: false },
      },
      permission: { action: 'read', subject: 'Usage' },
      input: usageQuerySchema,
      run: async (principal, query: UsageQuery) => jsonResult({ usage: await usage.report(principal.organizationId, query) }),
    },
  ];
}
