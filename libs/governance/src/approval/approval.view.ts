import { Injectable } from '@nestjs/common';
import { AuditRedactor, AuditSettingsService } from '@gatehouse/audit';
import type { ApprovalRequestRecord } from '@gatehouse/db';
import { costProjectionView } from '../budget/budget.dto';
import type { BudgetSubject } from '../budget/budget-rules';
import { BudgetService, CostProjection } from '../budget/budget.service';

/**
 * An approval request as the API, the management tools and webhooks show it. `shownArguments`: the arguments
 * redacted as the audit log redacts them; the stored ones (and their hash) stay exact, since they are what runs.
 */
export function approvalView(request: ApprovalRequestRecord, shownArguments: unknown, cost: CostProjection | null = null) {
  return {
    id: request.id,
    status: request.status,
    tool: request.toolName,
    connection: request.connectionName,
    arguments: shownArguments,
    argumentsHash: request.argumentsHash,
    requester: request.requesterName,
    via: request.requesterVia,
    toolClasses: request.toolClasses,
    // While it waits: its price against each budget it would count toward, as things stand now.
    cost: cost ? costProjectionView(cost) : null,
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
    private readonly budgets: BudgetService,
  ) {}

  /** `spent`: the budgets' counters read once for a whole list (see BudgetService.projection). */
  async of(request: ApprovalRequestRecord, spent?: Map<string, Promise<bigint>>): Promise<ApprovalView> {
    const settings = await this.auditSettings.forOrganization(request.organizationId);
    const cost = request.status === 'pending' ? await this.budgets.projection(request.organizationId, requesterBudgetSubject(request), request.downstreamTool, spent) : null;
    return approvalView(request, this.redactor.shownArguments(request.arguments, settings), cost);
  }
}

/** The requester as budgets name them, as the call will be charged when it runs. */
function requesterBudgetSubject(request: ApprovalRequestRecord): BudgetSubject {
  return { connection: request.connectionName, userEmail: request.requesterEmail?.toLowerCase() ?? null, apiKeyName: request.requesterKeyName ?? request.requesterName };
}
