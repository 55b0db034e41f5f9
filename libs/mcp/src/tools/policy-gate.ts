import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { CallAudit } from '@gatehouse/audit';
import { CallOutcome, catalogResource, ResolvedTool } from '@gatehouse/connections';
import { ApprovalService, HeldCall, PolicyResource, ToolAccessPolicy } from '@gatehouse/governance';
import { Principal } from '@gatehouse/identity';
import { AccessOutcome } from './access-check';
import { errorResult, refused } from './tool-results';

// Step 4 of the call pipeline (DESIGN.md), the same for a downstream tool and for Gatehouse's own: the policy
// decides, the decision is recorded on the call's audit, and a denial or an approval request becomes the tool
// result the assistant relays to the person.
@Injectable()
export class PolicyGate {
  private readonly logger = new Logger(PolicyGate.name);

  constructor(
    private readonly access: ToolAccessPolicy,
    private readonly approvals: ApprovalService,
  ) {}

  /**
   * Read-only credentials call only tools the organization classifies read-only (its tool classes, else the
   * server's readOnlyHint), checked before the arguments are. Null when that is not the refusal.
   */
  async readOnlyDenial(principal: Principal, resolved: ResolvedTool, name: string): Promise<AccessOutcome | null> {
    if (principal.access !== 'read_only' || (await this.access.isReadOnly(principal.organizationId, catalogResource(resolved.tool)))) return null;
    return {
      effect: 'deny',
      rule: { id: null, name: 'read-only-key' },
      why: `this credential is read-only, and "${name}" is not classified read-only (by the organization's tool classes, or else its server's readOnlyHint)`,
    };
  }

  /**
   * Runs the steps that decide whether a begun call goes ahead (`decide`: the refusal as the call's result, or null to
   * go ahead). A step that fails (the policy or approval store unreachable, say) refuses the call, recorded with the
   * outcome `error`: from its begin on, every call leaves a request and an outcome record, and none goes downstream
   * undecided.
   */
  async guard(audit: CallAudit, name: string, finish: (outcome: CallOutcome) => void, decide: () => Promise<CallToolResult | null>): Promise<CallToolResult | null> {
    try {
      return await decide();
    } catch (error) {
      const errorId = randomUUID();
      this.logger.error({ err: error, errorId, tool: name }, 'Could not decide on a tool call');
      finish('error');
      return refused(audit, 'error', errorResult(`Gatehouse could not decide on the call to "${name}" (error id ${errorId}); the call was not made.`));
    }
  }

  /** The policy's decision for this principal, a denial carrying the sentence that tells the person refused why. */
  async decide(principal: Principal, resource: PolicyResource, args: Record<string, unknown>): Promise<AccessOutcome> {
    const decision = await this.access.decide(principal, resource, args);
    if (decision.effect === 'require_approval') return decision;
    if (decision.effect === 'allow') return { effect: 'allow', rule: decision.rule };
    return { ...decision, why: `${decision.rule.description ?? `role ${principal.role} may not call "${resource.tool}"`} (policy rule "${decision.rule.name}")` };
  }

  /**
   * The refusal or approval request as the call's result (its records written), or null when the call may go
   * ahead. `decided`: a refusal found before the policy (a read-only credential), which the policy then does not see.
   */
  async check(
    principal: Principal,
    call: Omit<HeldCall, 'toolClasses'>,
    resource: PolicyResource,
    audit: CallAudit,
    finish: (outcome: CallOutcome) => void,
    decided: AccessOutcome | null = null,
  ): Promise<CallToolResult | null> {
    const decision = decided ?? (await this.decide(principal, resource, call.arguments));
    audit.decided({ effect: decision.effect, rule: { id: decision.rule.id, name: decision.rule.name } });
    if (decision.effect === 'deny') {
      finish('denied');
      return refused(audit, 'denied', errorResult(`Permission denied: ${decision.why}.`));
    }
    if (decision.effect === 'require_approval') {
      const toolClasses = await this.access.classes(principal.organizationId, resource);
      const request = await this.approvals.request(principal, { ...call, toolClasses }, decision.rule, decision.approval);
      finish('approval_required');
      const approvers = decision.approval.approverRoles.join(' or ');
      const result = errorResult(
        `Approval required. Request ${request.id} sent to ${approvers}` +
          `${decision.approval.approvals > 1 ? ` (${decision.approval.approvals} approvals needed)` : ''} under policy rule "${decision.rule.name}". ` +
          `It expires at ${request.expiresAt.toISOString()}; call gatehouse_get_approval with this id for its status and, once approved, the result.`,
      );
      return refused(audit, 'approval_required', result, request.id);
    }
    return null;
  }
}
