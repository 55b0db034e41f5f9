import { Injectable, OnModuleInit } from '@nestjs/common';
import { ApprovalEvent, ApprovalEvents, mayReadApproval } from '@gatehouse/governance';
import { credentialKey, Principal } from '@gatehouse/identity';

/** What an open dashboard hears: something changed, so the view showing it is read again. */
export interface LiveEvent {
  type: 'approval';
  id: string;
  status: string;
}

type Listener = (event: LiveEvent) => void;

interface Subscriber {
  principal: Principal;
  listener: Listener;
}

/** Open streams one credential or person may hold in this process. */
export const MAX_STREAMS_PER_CREDENTIAL = 16;

// The dashboard's live stream, fed by the cluster bus: a request made or decided on any replica reaches every open
// dashboard of its organization that may see it (admins, its approvers, its requester), within the bus's latency.
@Injectable()
export class LiveEvents implements OnModuleInit {
  private readonly subscribers = new Map<string, Set<Subscriber>>();
  private readonly perCredential = new Map<string, number>();

  constructor(private readonly approvals: ApprovalEvents) {}

  async onModuleInit(): Promise<void> {
    await this.approvals.subscribe((event) => this.dispatch(event));
  }

  /** Starts listening; the function that stops, or null when the credential holds too many streams already. */
  listen(principal: Principal, listener: Listener): (() => void) | null {
    const key = credentialKey(principal);
    const held = this.perCredential.get(key) ?? 0;
    if (held >= MAX_STREAMS_PER_CREDENTIAL) return null;
    this.perCredential.set(key, held + 1);
    const subscriber = { principal, listener };
    const organization = this.subscribers.get(principal.organizationId) ?? new Set();
    organization.add(subscriber);
    this.subscribers.set(principal.organizationId, organization);
    let stopped = false;
    return () => {
      if (stopped) return;
      stopped = true;
      organization.delete(subscriber);
      if (organization.size === 0) this.subscribers.delete(principal.organizationId);
      const left = (this.perCredential.get(key) ?? 1) - 1;
      if (left > 0) this.perCredential.set(key, left);
      else this.perCredential.delete(key);
    };
  }

  private dispatch(event: ApprovalEvent): void {
    for (const { principal, listener } of this.subscribers.get(event.organizationId) ?? []) {
      // The same people the approvals list shows the request to; an event published before the field existed has none.
      if (!mayReadApproval(principal, { approverRoles: event.approverRoles ?? [], requesterIdentity: event.requesterIdentity ?? '' })) continue;
      listener({ type: 'approval', id: event.requestId, status: event.status });
    }
  }
}
