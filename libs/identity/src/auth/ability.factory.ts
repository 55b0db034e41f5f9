import { AbilityBuilder, createMongoAbility, ForcedSubject, MongoAbility } from '@casl/ability';
import { Injectable } from '@nestjs/common';
import { isAdministrator, PlatformSettings } from '@gatehouse/config';
import type { ApiKeyRecord } from '@gatehouse/db';
import { Principal } from './principal';

export type Action = 'manage' | 'read' | 'create' | 'update' | 'delete';
export type Subject = 'Connection' | 'Endpoint' | 'ApiKey' | 'Member' | 'IdentityProvider' | 'Policy' | 'Approval' | 'Budget' | 'Usage' | 'Audit' | 'Platform' | 'Workflow' | 'WorkflowRun' | 'all';
/** A subject type, or one record of it (`subject('ApiKey', key)`) where a rule has conditions. */
export type AppAbility = MongoAbility<[Action, Subject | (Pick<ApiKeyRecord, 'createdById'> & ForcedSubject<'ApiKey'>)]>;

// The single place that says what a principal may do. Tenant isolation is not expressed here but by every
// repository method taking the principal's organizationId.
@Injectable()
export class AbilityFactory {
  constructor(private readonly platform: PlatformSettings) {}

  forPrincipal(principal: Principal): AppAbility {
    const { can, cannot, build } = new AbilityBuilder<AppAbility>(createMongoAbility);
    const isAdmin = isAdministrator(principal.role);
    // An auditor reads the record of what the organization did (audit log and exports, usage and budgets, the
    // approval requests and their history) and nothing else: no connections, no tools, no decisions.
    const isAuditor = principal.role === 'auditor';
    const reads: Subject[] = isAuditor ? ['Approval', 'Audit', 'Usage', 'Budget', 'Workflow', 'WorkflowRun'] : ['Connection', 'Endpoint', 'Approval', 'Workflow', 'WorkflowRun'];
    if (isAdmin) reads.push('ApiKey', 'Member', 'IdentityProvider', 'Policy', 'Budget', 'Usage', 'Audit');
    can('read', reads);
    // Which requests a principal sees and may decide is the approval service's rule (approver roles per request).
    if (!isAuditor) can('update', 'Approval');
    // Starting a run is calling its tools, as the starter (the workflow's roles and the policy decide further);
    // whose runs a principal sees and cancels is the workflow service's rule (their own; admins and auditors all).
    if (!isAuditor) can(['create', 'delete'], 'WorkflowRun');
    // Everyone sees and revokes their own keys and OAuth grants ("MCP — ChatGPT"), whatever their role.
    if (principal.userId) can(['read', 'delete'], 'ApiKey', { createdById: principal.userId });
    if (isAdmin) {
      can('manage', 'Connection');
      // Endpoints and, with ApiKey, their keys.
      can('manage', 'Endpoint');
      can('manage', 'ApiKey');
      // Up to their own role: the membership service's rule.
      can('manage', 'Member');
      can('manage', 'IdentityProvider');
      can('manage', 'Policy');
      can('manage', 'Workflow');
      // Costs and budgets are Budget; spend reports are Usage.
      can('manage', 'Budget');
      // The audit log is written by Gatehouse only: its settings and SIEM sinks are what admins change, not its records.
      can('update', 'Audit');
    }
    if (principal.access === 'read_only') {
      cannot(['create', 'update', 'delete', 'manage'], 'all');
      can('read', reads);
    }
    // The deployment operator (platform.operators, by the person behind the credential), whatever their role in the
    // organization the credential belongs to: the platform's settings are theirs to read. They change in the config
    // file. Last, so that a read-only credential's restrictions above do not hide it.
    if (this.platform.isOperator(principal.userEmail)) can('read', 'Platform');
    return build();
  }
}
