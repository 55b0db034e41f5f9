import { createHash } from 'node:crypto';
import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { AuditActor, AuditRecorder, systemActor } from '@gatehouse/audit';
import { ApprovalSettings, GatehouseError, isAdministrator, JOBS, QUEUES, ToolClassName } from '@gatehouse/config';
import { ApprovalPage, ApprovalRepository, ApprovalRequestRecord, ApprovalStatusName, OrganizationRepository } from '@gatehouse/db';
import { auditActorOf, type Principal } from '@gatehouse/identity';
import { canonicalJson } from '@gatehouse/connections';
import type { DecidingRule } from '../policy/policy-engine';
import { WebhookService } from '../webhook/webhook.service';
import { ApprovalEvents } from './approval-events';
import { ApprovalView, ApprovalViews } from './approval.view';
import { WorkflowWake } from '../workflow/workflow-wake';

/** The call a rule held for approval. */
export interface HeldCall {
  connectionName: string;
  toolName: string;
  downstreamTool: string;
  arguments: Record<string, unknown>;
  /** The tool's classes, as the policy classified it. */
  toolClasses: ToolClassName[];
  /** Set when a workflow run holds it: the run, and the step (null: the whole run, before its first step). */
  workflow?: { runId: string; step: number | null };
}

/** Through what a principal asks, as the person deciding reads it: "alice@acme.test via ChatGPT". */
export function viaOf(principal: Pick<Principal, 'kind' | 'client' | 'name' | 'userEmail'>): string {
  switch (principal.kind) {
    case 'oauth':
      return principal.client?.name ?? 'an OAuth client';
    case 'session':
      return 'the dashboard';
    case 'api_key':
      // With no person behind it, the requester already is the key's name.
      return principal.userEmail ? `API key "${principal.name}"` : 'API key';
  }
}

export interface ApprovalJob {
  requestId: string;
}

// Expiry is decided by Gatehouse's job, not by a person.
const EXPIRY_ACTOR = systemActor('approval-expiry');

// Approvals count people, not credentials: the person behind a credential, or for a chain of keys with no
// person, its root key. One identity decides once, and never its own request, whichever of its keys (minted
// ones included) or OAuth clients it uses.
/** What the person looking at a request may do with it. */
export interface ViewerStanding {
  mayDecide: boolean;
  /** Why not, in words, when they may not. */
  reason: string | null;
  /** They made the request. */
  requester: boolean;
  /** Their own decision, when they made one. */
  decided?: 'approved' | 'denied';
}

/** A list's filter and page: a status (or every decided one), the id of the last request already shown, a size. */
export interface ApprovalListQuery {
  status?: ApprovalStatusName | 'decided';
  before?: string;
  limit?: number;
}

export const APPROVAL_PAGE_SIZE = 200;

/** Who sees a request (on the live stream, and as the list's query filters it): admins, auditors, the roles that decide it, and whoever asked. */
export function mayReadApproval(principal: Principal, request: Pick<ApprovalRequestRecord, 'approverRoles' | 'requesterIdentity'>): boolean {
  return seesEveryRequest(principal) || request.approverRoles.includes(principal.role) || approverIdentity(principal) === request.requesterIdentity;
}

function seesEveryRequest(principal: Pick<Principal, 'role'>): boolean {
  return isAdministrator(principal.role) || principal.role === 'auditor';
}

/** mayReadApproval as a list's query filters it: null for those who see every request. */
function visibility(principal: Principal): ApprovalPage['visibleTo'] {
  return seesEveryRequest(principal) ? null : { identity: approverIdentity(principal), role: principal.role };
}

export function approverIdentity(principal: Pick<Principal, 'userId' | 'rootKeyId' | 'apiKeyId'>): string {
  return principal.userId ? `user:${principal.userId}` : `api_key:${principal.rootKeyId ?? principal.apiKeyId}`;
}

// Approval requests: created when a rule requires approval, decided by approvers (N of M), executed once by
// a job after approval, denied by a delayed job when they expire.
@Injectable()
export class ApprovalService {
  constructor(
    private readonly repository: ApprovalRepository,
    private readonly organizations: OrganizationRepository,
    private readonly events: ApprovalEvents,
    private readonly webhooks: WebhookService,
    @InjectQueue(QUEUES.approvals) private readonly queue: Queue<ApprovalJob>,
    private readonly recorder: AuditRecorder,
    private readonly views: ApprovalViews,
    private readonly workflows: WorkflowWake,
  ) {}

  async request(principal: Principal, held: HeldCall, rule: DecidingRule, approval: ApprovalSettings): Promise<ApprovalRequestRecord> {
    const { workflow, ...call } = held;
    const request = await this.repository.create({
      organizationId: principal.organizationId,
      ...call,
      ...(workflow ? { workflowRunId: workflow.runId, workflowStep: workflow.step } : {}),
      argumentsHash: createHash('sha256').update(canonicalJson(call.arguments)).digest('hex'),
      requesterSubject: principal.subject,
      requesterUserId: principal.userId,
      requesterIdentity: approverIdentity(principal),
      requesterName: principal.userEmail ?? principal.name,
      requesterKind: principal.kind,
      requesterRole: principal.role,
      requesterEmail: principal.userEmail,
      requesterApiKeyId: principal.apiKeyId,
      requesterKeyName: principal.name,
      requesterVia: viaOf(principal),
      ruleId: rule.id,
      ruleName: rule.name,
      approverRoles: approval.approverRoles,
      requiredApprovals: approval.approvals,
      expiresAt: new Date(Date.now() + approval.expiresIn * 1000),
    });
    // A delayed job denies it at expiry; a deterministic id, so it is scheduled once.
    await this.queue.add(
      JOBS.expireApproval,
      { requestId: request.id },
      { jobId: `expire-${request.id}`, delay: approval.expiresIn * 1000, removeOnComplete: true, removeOnFail: 100, attempts: 5, backoff: { type: 'exponential', delay: 1000 } },
    );
    await this.record('approval.requested', request, auditActorOf(principal), {
      ruleId: rule.id,
      ruleName: rule.name,
      approverRoles: approval.approverRoles,
      requiredApprovals: approval.approvals,
      expiresAt: request.expiresAt.toISOString(),
      argumentsHash: request.argumentsHash,
    });
    await this.announce(request);
    await this.webhooks.emit(request.organizationId, 'approval.created', { approval: await this.views.of(request) }, `approval.created.${request.id}`);
    return request;
  }

  async get(principal: Principal, id: string): Promise<ApprovalView & { viewer: ViewerStanding }> {
    const request = await this.find(principal, id);
    return { ...(await this.views.of(request)), viewer: this.standing(principal, request, await this.keyMayDecide(principal)) };
  }

  /**
   * A page of the requests the principal may decide (as an approver) or made; admins and auditors see all of the
   * organization's. Filtered in the query, so a page is full whatever the history's size.
   */
  async list(principal: Principal, query: ApprovalListQuery = {}): Promise<(ApprovalView & { viewer: ViewerStanding })[]> {
    const requests = await this.repository.list(principal.organizationId, { ...query, limit: query.limit ?? APPROVAL_PAGE_SIZE, visibleTo: visibility(principal) });
    const keyMayDecide = await this.keyMayDecide(principal);
    const spent = new Map<string, Promise<bigint>>();
    return Promise.all(requests.map(async (request) => ({ ...(await this.views.of(request, spent)), viewer: this.standing(principal, request, keyMayDecide) })));
  }

  /** How many pending requests the principal sees in the inbox. */
  async pendingCount(principal: Principal): Promise<number> {
    // Those who see every request are answered by a count; others by the inbox's own filter (its first page).
    if (seesEveryRequest(principal)) return this.repository.countPending(principal.organizationId);
    return (await this.repository.list(principal.organizationId, { status: 'pending', limit: APPROVAL_PAGE_SIZE, visibleTo: visibility(principal) })).length;
  }

  async decide(principal: Principal, id: string, approved: boolean, reason: string | undefined): Promise<ApprovalView> {
    const request = await this.find(principal, id);
    const refusal = this.refusal(principal, request, await this.keyMayDecide(principal));
    if (refusal) throw GatehouseError.forbidden(refusal);
    const identity = approverIdentity(principal);
    const outcome = await this.repository.decide(
      principal.organizationId,
      id,
      { approverIdentity: identity, approverSubject: principal.subject, approverName: principal.userEmail ?? principal.name, approved, reason: reason ?? null },
      new Date(),
    );
    switch (outcome.outcome) {
      case 'not_found':
        throw GatehouseError.notFound(`Approval request ${id} not found`);
      case 'expired':
        throw GatehouseError.conflict(`Approval request ${id} has expired and can no longer be decided`);
      case 'not_pending':
        throw GatehouseError.conflict(`Approval request ${id} is already ${outcome.status}`);
      case 'already_decided':
        throw GatehouseError.conflict(`You have already decided approval request ${id}`);
      case 'recorded':
        // One record per decision; status says whether it settled the request (N of M).
        await this.record(approved ? 'approval.approved' : 'approval.denied', outcome.request, auditActorOf(principal), {
          status: outcome.request.status,
          requiredApprovals: outcome.request.requiredApprovals,
          ...(reason ? { reason } : {}),
        });
        await this.announce(outcome.request);
        const view = await this.views.of(outcome.request);
        if (outcome.request.status !== 'pending') {
          await this.webhooks.emit(principal.organizationId, 'approval.decided', { approval: view }, `approval.decided.${id}`);
        }
        // A denied request never runs: the workflow run waiting on it learns now (an approved one, once it has run).
        if (outcome.request.status === 'denied' && outcome.request.workflowRunId) await this.workflows.wake(outcome.request.workflowRunId);
        if (outcome.request.status === 'approved') {
          // Deterministic job id: however many approvals race, one execution job (and the claim makes it once).
          await this.queue.add(
            JOBS.executeApproval,
            { requestId: id },
            { jobId: `execute-${id}`, removeOnComplete: 100, removeOnFail: 500, attempts: 3, backoff: { type: 'exponential', delay: 1000 } },
          );
        }
        return view;
    }
  }

  /** The expiry job: a request still pending at its expiry is denied for good. False when it is not due yet. */
  async expire(id: string): Promise<boolean> {
    const request = await this.repository.findById(id);
    if (!request || request.status !== 'pending') return true;
    if (request.expiresAt.getTime() > Date.now()) return false;
    if (await this.repository.expire(id, new Date())) {
      await this.record('approval.expired', request, EXPIRY_ACTOR, { expiresAt: request.expiresAt.toISOString() });
      await this.announce({ ...request, status: 'expired' });
      await this.webhooks.emit(request.organizationId, 'approval.decided', { approval: await this.views.of({ ...request, status: 'expired' }) }, `approval.decided.${id}`);
      if (request.workflowRunId) await this.workflows.wake(request.workflowRunId);
    }
    return true;
  }

  /** Whether the principal's person (or, with no person behind it, the organization's keyApprovals) lets it decide. */
  private async keyMayDecide(principal: Principal): Promise<boolean> {
    return principal.userId !== null || (await this.organizations.allowsKeyApprovals(principal.organizationId));
  }

  /** Why the principal may not decide the request whatever its state, or null when they may. */
  private refusal(principal: Principal, request: ApprovalRequestRecord, keyMayDecide: boolean): string | null {
    if (principal.role === 'auditor') return 'Auditors read approval requests and their history; they do not decide them';
    if (!request.approverRoles.includes(principal.role)) return `Only ${request.approverRoles.join(' or ')} may decide this request (your role: ${principal.role})`;
    if (principal.access === 'read_only') return 'A read-only credential cannot decide approval requests';
    if (approverIdentity(principal) === request.requesterIdentity) return 'Nobody approves their own request, whichever key or client they use';
    // Whoever holds a key with no person could otherwise mint keys and approve as several "people".
    if (!keyMayDecide) {
      return 'This key has no person behind it, so it cannot decide approval requests; use a key or client of an approver (or allow keyApprovals for the organization)';
    }
    return null;
  }

  /** Whether the viewer may decide the request now, and if not, why: what the dashboard's buttons say. */
  private standing(principal: Principal, request: ApprovalRequestRecord, keyMayDecide: boolean): ViewerStanding {
    const identity = approverIdentity(principal);
    const decided = request.decisions.find((decision) => decision.approverIdentity === identity);
    const requester = identity === request.requesterIdentity;
    const why =
      request.status !== 'pending'
        ? `This request is ${request.status}`
        : request.expiresAt.getTime() <= Date.now()
          ? 'This request has expired'
          : decided
            ? `You have already ${decided.approved ? 'approved' : 'denied'} it`
            : this.refusal(principal, request, keyMayDecide);
    return { mayDecide: why === null, reason: why, requester, ...(decided ? { decided: decided.approved ? 'approved' : 'denied' } : {}) };
  }

  private async find(principal: Principal, id: string): Promise<ApprovalRequestRecord> {
    const request = await this.repository.find(principal.organizationId, id);
    if (!request || !mayReadApproval(principal, request)) throw GatehouseError.notFound(`Approval request ${id} not found`);
    return request;
  }

  private record(kind: string, request: ApprovalRequestRecord, actor: AuditActor, data: Record<string, unknown>): Promise<void> {
    return this.recorder.record({
      organizationId: request.organizationId,
      kind,
      actor,
      target: { type: 'approval_request', id: request.id, connection: request.connectionName, tool: request.toolName },
      outcome: kind === 'approval.requested' ? 'pending' : kind.slice('approval.'.length),
      data,
    });
  }

  private announce(request: ApprovalRequestRecord): Promise<void> {
    return this.events.publish({
      requestId: request.id,
      organizationId: request.organizationId,
      requesterSubject: request.requesterSubject,
      requesterIdentity: request.requesterIdentity,
      approverRoles: request.approverRoles,
      status: request.status,
    });
  }
}
