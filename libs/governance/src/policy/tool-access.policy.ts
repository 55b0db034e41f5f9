import { Injectable } from '@nestjs/common';
import type { Principal } from '@gatehouse/identity';
import { Decision, Listing, PolicyResource, PolicySubject } from './policy-engine';
import { PolicyService } from './policy.service';

/** The policy's view of a principal. */
export function policySubject(principal: Principal): PolicySubject {
  return {
    role: principal.role,
    userEmail: principal.userEmail,
    apiKeyName: principal.name,
    clientId: principal.client?.clientId ?? null,
    clientName: principal.client?.name ?? null,
    viaOAuth: principal.kind === 'oauth',
  };
}

// Step 4 of the call pipeline (DESIGN.md), and the filter of each principal's tools/list.
@Injectable()
export class ToolAccessPolicy {
  constructor(private readonly policies: PolicyService) {}

  async decide(principal: Principal, resource: PolicyResource, args: Record<string, unknown>): Promise<Decision> {
    return (await this.policies.policyFor(principal.organizationId)).decide(policySubject(principal), resource, args);
  }

  /** A function deciding how each tool appears in this principal's tools/list, under one policy version. */
  async lister(principal: Principal): Promise<(resource: PolicyResource) => Listing> {
    const policy = await this.policies.policyFor(principal.organizationId);
    const subject = policySubject(principal);
    return (resource) => policy.listing(subject, resource);
  }
}
