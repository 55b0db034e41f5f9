import { z } from 'zod';
import { ApprovalService } from '@gatehouse/governance';
import { jsonResult } from '../tools/tool-results';
import { inputSchema, ManagementTool } from './management-tool';

const STATUSES = ['pending', 'approved', 'denied', 'expired', 'executed', 'failed'] as const;

// The approval workflow for assistants: requesters follow their requests, approvers decide them.
export function approvalTools(approvals: ApprovalService): ManagementTool[] {
  const list = z.object({ status: z.enum(STATUSES).optional().describe('Only requests in this status') }).strict();
  const byId = z.object({ id: z.uuid().describe('The approval request id') }).strict();
  const approve = byId.extend({ reason: z.string().max(1000).optional() }).strict();
  const deny = byId.extend({ reason: z.string().min(1).max(1000).describe('Why, for the requester') }).strict();
  return [
    {
      definition: {
        name: 'gatehouse_list_approvals',
        title: 'List approval requests',
        description: 'Lists approval requests you made or may decide (admins: all of the organization), newest first.',
        inputSchema: inputSchema(list),
        annotations: { readOnlyHint: true, openWorldHint: false },
      },
      permission: { action: 'read', subject: 'Approval' },
      requesterFacing: true,
      input: list,
      run: async (principal, { status }: z.infer<typeof list>) => jsonResult({ approvals: await approvals.list(principal, status ? { status } : {}) }),
    },
    {
      definition: {
        name: 'gatehouse_get_approval',
        title: 'Get approval request',
        description: 'Shows one approval request: the held call, its status and decisions, and the result once it has run.',
        inputSchema: inputSchema(byId),
        annotations: { readOnlyHint: true, openWorldHint: false },
      },
      permission: { action: 'read', subject: 'Approval' },
      requesterFacing: true,
      input: byId,
      run: async (principal, { id }: z.infer<typeof byId>) => jsonResult({ approval: await approvals.get(principal, id) }),
    },
    {
      definition: {
        name: 'gatehouse_approve_request',
        title: 'Approve request',
        description: 'Approves a pending request you may decide; once enough approvers agree, the held call runs. Not your own requests.',
        inputSchema: inputSchema(approve),
        // Approving runs the held call, whatever it does.
        annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
      },
      permission: { action: 'update', subject: 'Approval' },
      sensitive: true,
      input: approve,
      run: async (principal, { id, reason }: z.infer<typeof approve>) => jsonResult({ approval: await approvals.decide(principal, id, true, reason) }),
    },
    {
      definition: {
        name: 'gatehouse_deny_request',
        title: 'Deny request',
        description: 'Denies a pending request you may decide, with a reason for the requester. A denied request never runs.',
        inputSchema: inputSchema(deny),
        annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      },
      permission: { action: 'update', subject: 'Approval' },
      sensitive: true,
      input: deny,
      run: async (principal, { id, reason }: z.infer<typeof deny>) => jsonResult({ approval: await approvals.decide(principal, id, false, reason) }),
    },
  ];
}
