import { Injectable } from '@nestjs/common';
import { RoleName, ToolClassName } from '@gatehouse/config';
import { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma.service';
import { isUniqueViolation } from './unique-violation';

export type ApprovalStatusName = 'pending' | 'approved' | 'denied' | 'expired' | 'executed' | 'failed';

export interface NewApprovalRequest {
  organizationId: string;
  connectionName: string;
  toolName: string;
  downstreamTool: string;
  arguments: Record<string, unknown>;
  argumentsHash: string;
  requesterSubject: string;
  requesterUserId: string | null;
  /** Who asked, as approvals count people (see approverIdentity). */
  requesterIdentity: string;
  requesterName: string;
  requesterKind: string;
  requesterRole: RoleName;
  requesterEmail: string | null;
  requesterApiKeyId: string | null;
  /** The credential's name (an API key's, or an OAuth grant's "MCP — <client>"), as budgets name keys. */
  requesterKeyName: string | null;
  /** The client the request came through, for the person deciding ("ChatGPT", "the dashboard", "API key"). */
  requesterVia: string | null;
  /** The tool's classes when it was asked for. */
  toolClasses: ToolClassName[];
  ruleId: string | null;
  ruleName: string;
  approverRoles: RoleName[];
  requiredApprovals: number;
  expiresAt: Date;
  /** A workflow run's approval: of the whole run (step null) or of one step's call. */
  workflowRunId?: string | null;
  workflowStep?: number | null;
}

/** Which requests a list shows (see ApprovalRepository.list). */
export interface ApprovalPage {
  status?: ApprovalStatusName | 'decided';
  before?: string;
  limit: number;
  /** Null: all of the organization's (admins, auditors). */
  visibleTo: { identity: string; role: RoleName } | null;
}

export interface ApprovalDecisionRecord {
  approverIdentity: string;
  approverSubject: string;
  approverName: string;
  approved: boolean;
  reason: string | null;
  createdAt: Date;
}

export interface ApprovalRequestRecord extends NewApprovalRequest {
  id: string;
  status: ApprovalStatusName;
  decidedAt: Date | null;
  decisionReason: string | null;
  result: unknown;
  executedAt: Date | null;
  createdAt: Date;
  decisions: ApprovalDecisionRecord[];
}

export interface NewDecision {
  approverIdentity: string;
  approverSubject: string;
  approverName: string;
  approved: boolean;
  reason: string | null;
}

export type DecisionOutcome =
  | { outcome: 'recorded'; request: ApprovalRequestRecord }
  | { outcome: 'not_found' }
  | { outcome: 'not_pending'; status: ApprovalStatusName }
  | { outcome: 'expired' }
  | { outcome: 'already_decided' };

const INCLUDE = { decisions: { orderBy: { createdAt: 'asc' } } } as const;

@Injectable()
export class ApprovalRepository {
  constructor(private readonly prisma: PrismaService) {}

  async create(request: NewApprovalRequest): Promise<ApprovalRequestRecord> {
    const row = await this.prisma.approvalRequest.create({
      data: { ...request, arguments: request.arguments as Prisma.InputJsonObject },
      include: INCLUDE,
    });
    return toRecord(row);
  }

  async find(organizationId: string, id: string): Promise<ApprovalRequestRecord | null> {
    const row = await this.prisma.approvalRequest.findFirst({ where: { id, organizationId }, include: INCLUDE });
    return row && toRecord(row);
  }

  /** The approval a workflow run is waiting on: of one of its steps, or (step null) of the whole run. */
  async findForWorkflow(workflowRunId: string, workflowStep: number | null): Promise<ApprovalRequestRecord | null> {
    const row = await this.prisma.approvalRequest.findFirst({ where: { workflowRunId, workflowStep }, orderBy: { createdAt: 'desc' }, include: INCLUDE });
    return row && toRecord(row);
  }

  async findById(id: string): Promise<ApprovalRequestRecord | null> {
    const row = await this.prisma.approvalRequest.findUnique({ where: { id }, include: INCLUDE });
    return row && toRecord(row);
  }

  /**
   * One page of requests, newest first: those older than `before` (a request's id, the last of the previous page),
   * of a status or every decided one, and, for whoever sees only some, those they asked or their role decides.
   */
  async list(organizationId: string, page: ApprovalPage): Promise<ApprovalRequestRecord[]> {
    const cursor = page.before ? await this.prisma.approvalRequest.findFirst({ where: { id: page.before, organizationId }, select: { id: true, createdAt: true } }) : null;
    if (page.before && !cursor) return [];
    const rows = await this.prisma.approvalRequest.findMany({
      where: {
        organizationId,
        ...(page.status === 'decided' ? { status: { not: 'pending' } } : page.status ? { status: page.status } : {}),
        ...(page.visibleTo ? { OR: [{ requesterIdentity: page.visibleTo.identity }, { approverRoles: { has: page.visibleTo.role } }] } : {}),
        ...(cursor ? { AND: [{ OR: [{ createdAt: { lt: cursor.createdAt } }, { createdAt: cursor.createdAt, id: { lt: cursor.id } }] }] } : {}),
      },
      include: INCLUDE,
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: page.limit,
    });
    return rows.map(toRecord);
  }

  /** Requests waiting for a decision (an index count, whatever the history's size). */
  countPending(organizationId: string): Promise<number> {
    return this.prisma.approvalRequest.count({ where: { organizationId, status: 'pending' } });
  }

  /**
   * One approver's decision, under a lock on the request so that concurrent decisions are counted one by one:
   * a denial ends the request, and the approval that reaches the required number makes it approved (once).
   */
  decide(organizationId: string, id: string, decision: NewDecision, now: Date): Promise<DecisionOutcome> {
    return this.prisma
      .$transaction(async (tx) => {
        // First statement: take the row lock through a guarded update, so that racing decisions run one after
        // the other and each reads what the previous one committed (READ COMMITTED reads per statement).
        const locked = await tx.approvalRequest.updateMany({ where: { id, organizationId, status: 'pending' }, data: { updatedAt: now } });
        const current = await tx.approvalRequest.findFirst({ where: { id, organizationId }, include: INCLUDE });
        if (!current) return { outcome: 'not_found' } as const;
        if (locked.count !== 1) return { outcome: 'not_pending', status: current.status } as const;
        if (current.expiresAt <= now) {
          await tx.approvalRequest.update({ where: { id }, data: { status: 'expired', decidedAt: now } });
          return { outcome: 'expired' } as const;
        }
        if (current.decisions.some((d) => d.approverIdentity === decision.approverIdentity)) return { outcome: 'already_decided' } as const;
        await tx.approvalDecision.create({ data: { requestId: id, ...decision } });
        const approvals = current.decisions.filter((d) => d.approved).length + (decision.approved ? 1 : 0);
        const status = !decision.approved ? 'denied' : approvals >= current.requiredApprovals ? 'approved' : 'pending';
        const updated = await tx.approvalRequest.update({
          where: { id },
          data: status === 'pending' ? {} : { status, decidedAt: now, decisionReason: decision.reason },
          include: INCLUDE,
        });
        return { outcome: 'recorded', request: toRecord(updated) } as const;
      })
      .catch(async (error: unknown): Promise<DecisionOutcome> => {
        // The unique (request, approver) index: the same approver deciding twice at the same moment.
        if (isUniqueViolation(error)) {
          const latest = await this.prisma.approvalRequest.findUnique({ where: { id }, select: { status: true } });
          return latest && latest.status !== 'pending' ? { outcome: 'not_pending', status: latest.status } : { outcome: 'already_decided' };
        }
        throw error;
      });
  }

  /** Claims an approved request for execution: true for exactly one caller, ever. */
  async claimForExecution(id: string, now: Date): Promise<boolean> {
    const claimed = await this.prisma.approvalRequest.updateMany({ where: { id, status: 'approved', executedAt: null }, data: { executedAt: now } });
    return claimed.count === 1;
  }

  async recordResult(id: string, status: 'executed' | 'failed', result: unknown): Promise<void> {
    await this.prisma.approvalRequest.update({ where: { id }, data: { status, result: result as Prisma.InputJsonObject } });
  }

  /** Pending past its expiry → expired. Never touches a request that was decided. */
  async expire(id: string, now: Date): Promise<boolean> {
    const expired = await this.prisma.approvalRequest.updateMany({ where: { id, status: 'pending', expiresAt: { lte: now } }, data: { status: 'expired', decidedAt: now } });
    return expired.count === 1;
  }
}

type Row = Prisma.ApprovalRequestGetPayload<{ include: typeof INCLUDE }>;

function toRecord(row: Row): ApprovalRequestRecord {
  return {
    ...row,
    arguments: row.arguments as Record<string, unknown>,
    status: row.status,
    decisions: row.decisions.map(({ approverIdentity, approverSubject, approverName, approved, reason, createdAt }) => ({
      approverIdentity,
      approverSubject,
      approverName,
      approved,
      reason,
      createdAt,
    })),
  };
}
