import { Injectable } from '@nestjs/common';
import type { RoleName } from '@gatehouse/config';
import { ClusterBus } from '@gatehouse/db';

export interface ApprovalEvent {
  requestId: string;
  organizationId: string;
  requesterSubject: string;
  /** Who may see it (mayReadApproval), so that a live view shows it only to them: its requester and approvers. */
  requesterIdentity: string;
  approverRoles: RoleName[];
  status: string;
}

const CHANNEL = 'approvals';

/**
 * Tells every replica that a request was made, decided (each decision of N), expired or run: the requester's open MCP
 * sessions hear of its outcome, and open dashboards update.
 */
@Injectable()
export class ApprovalEvents {
  constructor(private readonly bus: ClusterBus) {}

  publish(event: ApprovalEvent): Promise<void> {
    return this.bus.publish(CHANNEL, event);
  }

  subscribe(handler: (event: ApprovalEvent) => void): Promise<void> {
    return this.bus.subscribe(CHANNEL, (payload) => handler(payload as ApprovalEvent));
  }
}
