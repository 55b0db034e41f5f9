import { Injectable, Logger } from '@nestjs/common';
import { CallAuditor } from '@gatehouse/audit';
import { credentialKey, LimitMetrics, Principal, RateLimiter } from '@gatehouse/identity';
import type { AuditContext } from '../tools/call-audit-start';
import { ToolCallDispatcher } from '../tools/tool-call.dispatcher';
import type { LimitRefusal } from './limit-refusal';

// Records tools/calls refused by a limit, bounded as AuthFailureAudit bounds failed authentications: a credential
// flooding the endpoint must not flood the audit log. Per window and credential, the first refusal by a rate limit
// is recorded (the rate limit's own count says which one it is, across replicas), and the first refusal by a
// per-process cap within a quota of its own; the rest are counted on /metrics. A recorded refusal is a request and
// a `throttled` outcome record, the arguments kept as any call's are (truncated when large).
@Injectable()
export class ThrottledCallAudit {
  private readonly logger = new Logger(ThrottledCallAudit.name);

  constructor(
    private readonly dispatcher: ToolCallDispatcher,
    private readonly auditor: CallAuditor,
    private readonly limiter: RateLimiter,
    private readonly metrics: LimitMetrics,
  ) {}

  /** The refusal of these calls (one request's), the first of them recorded if it is the one of its window. Never throws. */
  async refused(principal: Principal, calls: readonly { name: string; args: Record<string, unknown> }[], context: AuditContext, refusal: LimitRefusal): Promise<void> {
    const [first, ...rest] = calls;
    if (rest.length > 0) this.metrics.notRecorded(principal.organizationId, refusal.limit, rest.length);
    if (!first) return;
    try {
      if (!(refusal.firstOfWindow ?? (await this.capQuota(principal)))) {
        this.metrics.notRecorded(principal.organizationId, refusal.limit);
        return;
      }
      const audit = await this.auditor.begin(this.dispatcher.auditStart(principal, first.name, first.args, context));
      await audit.refuse('throttled', { error: refusal.message, limit: { name: refusal.limit, retryAfterSeconds: refusal.retryAfterSeconds ?? 0 } });
    } catch (error) {
      this.logger.warn({ err: error, organizationId: principal.organizationId }, 'Could not record a tools/call refused by a limit');
    }
  }

  private async capQuota(principal: Principal): Promise<boolean> {
    const [result] = await this.limiter.consume('capped-call-record', { credential: credentialKey(principal) });
    return result?.allowed === true;
  }
}
