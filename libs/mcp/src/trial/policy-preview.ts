import { Injectable } from '@nestjs/common';
import { ApiKeyAccessLevel, GatehouseError, RoleName } from '@gatehouse/config';
import { PolicyInput, PolicyService, ToolAccessPolicy } from '@gatehouse/governance';
import { ApiKeyService, MembershipService, personPrincipal, Principal } from '@gatehouse/identity';
import { McpServerFactory } from '../session/mcp-server.factory';

/** Whom to preview: a member as themselves (as in Try a tool), or an API key or OAuth grant as it stands now. */
export type PreviewSubject = { member: string } | { apiKey: string };

export interface PolicyPreviewRequest {
  /** The draft; without it, the policy in force. */
  policy?: PolicyInput;
  as: PreviewSubject;
}

export interface PreviewedTool {
  name: string;
  connection: string;
  listed: boolean;
  /** The rule that hides it (a policy rule, a default, or a read-only credential). */
  hiddenBy: { name: string; description: string | null } | null;
  /** Listed, but each call waits for these approvals. */
  approval: { approverRoles: RoleName[]; approvals: number } | null;
}

export interface PolicyPreviewResult {
  as: { kind: Principal['kind']; name: string; role: RoleName; access: ApiKeyAccessLevel; userEmail: string | null };
  /** The version previewed, or null for a draft. */
  policyVersion: number | null;
  tools: PreviewedTool[];
}

// The policy editor's preview: the tools/list a member or key would get under a draft, built by the same filter as
// /mcp (McpServerFactory.toolViews) with the principal that their own authentication would give. The draft is
// compiled in memory and never stored; the subject must belong to the admin's organization (else 404).
@Injectable()
export class PolicyPreview {
  constructor(
    private readonly servers: McpServerFactory,
    private readonly access: ToolAccessPolicy,
    private readonly policies: PolicyService,
    private readonly members: MembershipService,
    private readonly keys: ApiKeyService,
  ) {}

  async preview(admin: Principal, request: PolicyPreviewRequest): Promise<PolicyPreviewResult> {
    const principal = await this.principalOf(admin, request.as);
    const policy = request.policy ? this.policies.draft(request.policy) : await this.policies.policyFor(admin.organizationId);
    const tools = this.servers.toolViews(principal, this.access.listerUnder(principal, policy)).map(({ tool, connection, listing }) => ({
      name: tool.name,
      connection,
      listed: listing.listed,
      hiddenBy: listing.listed ? null : { name: listing.rule.name, description: listing.rule.description ?? null },
      approval: listing.listed && listing.approval ? { approverRoles: listing.approval.approverRoles, approvals: listing.approval.approvals } : null,
    }));
    return {
      as: { kind: principal.kind, name: principal.name, role: principal.role, access: principal.access, userEmail: principal.userEmail },
      policyVersion: request.policy ? null : policy.version,
      tools,
    };
  }

  private async principalOf(admin: Principal, subject: PreviewSubject): Promise<Principal> {
    const organization = { id: admin.organizationId, slug: admin.organizationSlug };
    if ('member' in subject) return personPrincipal(organization, await this.members.find(admin.organizationId, subject.member));
    const principal = await this.keys.current(admin.organizationId, subject.apiKey);
    // A revoked key, or one whose person left, lists nothing: there is no tool list to preview.
    if (!principal) throw GatehouseError.notFound(`API key ${subject.apiKey} not found, or it no longer authenticates`);
    return principal;
  }
}
