import { Injectable } from '@nestjs/common';
import { ClusterBus } from '@gatehouse/db';

export interface ApprovalEvent {
  requestId: string;
  organizationId: string;
  requesterSubject: string;
  status: string;
}

const CHANNEL = 'approvals';

/** Tells every replica that a request was decided or run, so the requester's open MCP sessions hear of it. */
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
