import { Injectable } from '@nestjs/common';
import type { ToolClassName } from '@gatehouse/config';
import type { Principal } from '@gatehouse/identity';
import { CompiledPolicy, Decision, Listing, PolicyResource, PolicySubject } from './policy-engine';
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
  async lister(principal: Principal): Promise<ToolLister> {
    return this.listerUnder(principal, await this.policies.policyFor(principal.organizationId));
  }

  /** The same, under a given policy: the one in force, or a draft being previewed. */
  listerUnder(principal: Principal, policy: CompiledPolicy): ToolLister {
    const subject = policySubject(principal);
    return { listing: (resource) => policy.listing(subject, resource), readOnly: (resource) => readOnly(policy, resource) };
  }

  /** The tool's classes as the organization's policy sees them (its overrides, else the server's annotations). */
  async classes(organizationId: string, resource: PolicyResource): Promise<ToolClassName[]> {
    return [...(await this.policies.policyFor(organizationId)).classify(resource)];
  }

  /**
   * Whether a read-only credential may call the tool: the organization's tool classes first, then the server's
   * annotations, the same classification the policy's rules see.
   */
  async isReadOnly(organizationId: string, resource: PolicyResource): Promise<boolean> {
    return readOnly(await this.policies.policyFor(organizationId), resource);
  }
}

/** How tools appear to one principal under one policy version. */
export interface ToolLister {
  listing(resource: PolicyResource): Listing;
  readOnly(resource: PolicyResource): boolean;
}

function readOnly(policy: CompiledPolicy, resource: PolicyResource): boolean {
  return !policy.classify(resource).has('write');
}
