import { z } from 'zod';
import { policyRuleSchema } from '@gatehouse/config';
import { PolicyService } from '@gatehouse/governance';
import { jsonResult } from '../tools/tool-results';
import { inputSchema, ManagementTool } from './management-tool';

// gatehouse_list_policies and gatehouse_create_policy: the admin API's policy operations, for assistants.
export function policyTools(policies: PolicyService): ManagementTool[] {
  const list = z.object({}).strict();
  const create = z
    .object({
      rule: policyRuleSchema.describe('The rule: name, match, effect (allow, deny or require_approval), approval settings'),
      position: z.number().int().min(0).optional().describe('Where to insert it (0 = first); appended when omitted'),
    })
    .strict();
  return [
    {
      definition: {
        name: 'gatehouse_list_policies',
        title: 'List policies',
        description: "Shows this organization's policy: its default effect, the ordered rules and tool class overrides. Admins only.",
        inputSchema: inputSchema(list),
        annotations: { readOnlyHint: true, openWorldHint: false },
      },
      permission: { action: 'read', subject: 'Policy' },
      input: list,
      run: async (principal) => jsonResult({ policy: await policies.get(principal.organizationId) }),
    },
    {
      definition: {
        name: 'gatehouse_create_policy',
        title: 'Create policy rule',
        description:
          "Adds a rule to this organization's policy; it applies from the next call. Deny rules override approval rules, " +
          'which override allow rules. Admins only.',
        inputSchema: inputSchema(create),
        annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
      },
      permission: { action: 'update', subject: 'Policy' },
      input: create,
      run: async (principal, input: z.infer<typeof create>) =>
        jsonResult({ policy: await policies.addRule(principal, input.rule, input.position, 'management_tool') }),
    },
  ];
}
