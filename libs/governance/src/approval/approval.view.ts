import type { ApprovalRequestRecord } from '@gatehouse/db';

/** An approval request as the API and the management tools show it. */
export function approvalView(request: ApprovalRequestRecord) {
  return {
    id: request.id,
    status: request.status,
    tool: request.toolName,
    connection: request.connectionName,
    arguments: request.arguments,
    argumentsHash: request.argumentsHash,
    requester: request.requesterName,
    rule: request.ruleName,
    approverRoles: request.approverRoles,
    requiredApprovals: request.requiredApprovals,
    approvals: request.decisions.filter((decision) => decision.approved).length,
    decisions: request.decisions.map(({ approverName, approved, reason, createdAt }) => ({ approver: approverName, approved, reason, at: createdAt })),
    expiresAt: request.expiresAt,
    decidedAt: request.decidedAt,
    reason: request.decisionReason,
    executedAt: request.executedAt,
    result: request.result ?? null,
    createdAt: request.createdAt,
  };
}

export type ApprovalView = ReturnType<typeof approvalView>;
