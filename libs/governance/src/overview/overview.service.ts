import { Injectable } from '@nestjs/common';
import { AuditChainStatus, AuditSinkInfo, AuditSinkService, AuditVerifier, CallActivity, CallActivityService } from '@gatehouse/audit';
import { ConnectionHealth, ConnectionService } from '@gatehouse/connections';
import { AbilityFactory, Principal, Subject } from '@gatehouse/identity';
import { ApprovalService } from '../approval/approval.service';
import { BudgetService } from '../budget/budget.service';

type BudgetOverview = Awaited<ReturnType<BudgetService['overview']>>['budgets'][number];

/** The dashboard's landing page in one answer. A section the caller may not read is null, never an error. */
export interface Overview {
  generatedAt: Date;
  calls: CallActivity;
  approvals: { pending: number } | null;
  budgets: BudgetOverview[] | null;
  connections: { total: number; unhealthy: Pick<ConnectionHealth, 'id' | 'name' | 'status'>[]; heldBackTools: number } | null;
  sinks: { total: number; deadLetter: number; maxLag: number; sinks: Pick<AuditSinkInfo, 'id' | 'name' | 'state' | 'enabled' | 'lag'>[] };
  chain: AuditChainStatus;
}

// Aggregates what other services already answer; the only new reads are the call activity (one SQL pass) and the
// chain's state (index reads). Who may open the page is the controller's permission (read Audit); each other
// section follows the caller's own ability, so an auditor's overview has no connections.
@Injectable()
export class OverviewService {
  constructor(
    private readonly abilities: AbilityFactory,
    private readonly activity: CallActivityService,
    private readonly approvals: ApprovalService,
    private readonly budgets: BudgetService,
    private readonly connections: ConnectionService,
    private readonly sinks: AuditSinkService,
    private readonly verifier: AuditVerifier,
  ) {}

  async overview(principal: Principal, now = new Date()): Promise<Overview> {
    const ability = this.abilities.forPrincipal(principal);
    const readable = <T>(subject: Subject, read: () => Promise<T>): Promise<T | null> => (ability.can('read', subject) ? read() : Promise.resolve(null));
    const organizationId = principal.organizationId;
    const [calls, approvals, budgets, connections, sinks, chain] = await Promise.all([
      this.activity.lastDay(organizationId, now),
      readable('Approval', async () => ({ pending: await this.approvals.pendingCount(principal) })),
      readable('Budget', async () => (await this.budgets.overview(organizationId, now)).budgets),
      readable('Connection', () => this.connectionHealth(organizationId)),
      this.sinkDelivery(organizationId),
      this.verifier.status(organizationId),
    ]);
    return { generatedAt: now, calls, approvals, budgets, connections, sinks, chain };
  }

  // Unhealthy: enabled and not connected with a fresh tool list (disabled connections are healthy by design).
  private async connectionHealth(organizationId: string): Promise<NonNullable<Overview['connections']>> {
    const health = await this.connections.health(organizationId);
    return {
      total: health.length,
      unhealthy: health.filter((entry) => !entry.healthy).map(({ id, name, status }) => ({ id, name, status })),
      heldBackTools: health.reduce((sum, entry) => sum + entry.heldBackTools, 0),
    };
  }

  private async sinkDelivery(organizationId: string): Promise<Overview['sinks']> {
    const sinks = await this.sinks.list(organizationId);
    return {
      total: sinks.length,
      deadLetter: sinks.filter((sink) => sink.state === 'dead_letter').length,
      maxLag: sinks.reduce((max, sink) => Math.max(max, sink.lag), 0),
      sinks: sinks.map(({ id, name, state, enabled, lag }) => ({ id, name, state, enabled, lag })),
    };
  }
}
