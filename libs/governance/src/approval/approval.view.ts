import { Injectable } from '@nestjs/common';
import { AuditRedactor, AuditSettingsService } from '@gatehouse/audit';
import type { ApprovalRequestRecord } from '@gatehouse/db';

/**
 * An approval request as the API, the management tools and webhooks show it. `shownArguments`: the arguments
 * redacted as the audit log redacts them; the stored ones (and their hash) stay exact, since they are what runs.
 */
export function approvalView(request: ApprovalRequestRecord, shownArguments: unknown) {
  return {
    id: request.id,
    status: request.status,
    tool: request.toolName,
    connection: request.connectionName,
    arguments: shownArguments,
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

/** Approval requests as they are shown, with the organization's audit redaction applied to their arguments. */
@Injectable()
export class ApprovalViews {
  constructor(
    private readonly auditSettings: AuditSettingsService,
    private readonly redactor: AuditRedactor,
  ) {}

  async of(request: ApprovalRequestRecord): Promise<ApprovalView> {
    const settings = await this.auditSettings.forOrganization(request.organizationId);
    return approvalView(request, this.redactor.shownArguments(request.arguments, settings));
  }
}
