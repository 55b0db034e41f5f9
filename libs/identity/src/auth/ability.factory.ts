import { AbilityBuilder, createMongoAbility, ForcedSubject, MongoAbility } from '@casl/ability';
import { Injectable } from '@nestjs/common';
import { PlatformSettings, ROLE_RANK } from '@gatehouse/config';
import type { ApiKeyRecord } from '@gatehouse/db';
import { Principal } from './principal';

export type Action = 'manage' | 'read' | 'create' | 'update' | 'delete';
export type Subject = 'Connection' | 'ApiKey' | 'Member' | 'IdentityProvider' | 'Policy' | 'Approval' | 'Budget' | 'Usage' | 'Audit' | 'Platform' | 'all';
/** A subject type, or one record of it (`subject('ApiKey', key)`) where a rule has conditions. */
export type AppAbility = MongoAbility<[Action, Subject | (Pick<ApiKeyRecord, 'createdById'> & ForcedSubject<'ApiKey'>)]>;

// The single place that says what a principal may do. Tenant isolation is not expressed here but by every
// repository method taking the principal's organizationId.
@Injectable()
export class AbilityFactory {
  constructor(private readonly platform: PlatformSettings) {}

  forPrincipal(principal: Principal): AppAbility {
    const { can, cannot, build } = new AbilityBuilder<AppAbility>(createMongoAbility);
    const isAdmin = ROLE_RANK[principal.role] >= ROLE_RANK.admin;
    can('read', 'Connection');
    // Which requests a principal sees and may decide is the approval service's rule (approver roles per request).
    can(['read', 'update'], 'Approval');
    // Everyone sees and revokes their own keys and OAuth grants ("MCP — ChatGPT"), whatever their role.
    if (principal.userId) can(['read', 'delete'], 'ApiKey', { createdById: principal.userId });
    if (isAdmin) {
      can('manage', 'Connection');
      can('manage', 'ApiKey');
      // Up to their own role: the membership service's rule.
      can('manage', 'Member');
      can('manage', 'IdentityProvider');
      can('manage', 'Policy');
      // Costs and budgets are Budget; spend reports are Usage.
      can('manage', 'Budget');
      can('read', 'Usage');
      // The audit log is written by Gatehouse only; admins read and verify it.
      can('read', 'Audit');
      // Its settings and SIEM sinks, not its records.
      can('update', 'Audit');
    }
    if (principal.access === 'read_only') {
      cannot(['create', 'update', 'delete', 'manage'], 'all');
      can('read', ['Connection', 'Approval']);
      if (isAdmin) can('read', ['ApiKey', 'Member', 'IdentityProvider', 'Policy']);
      if (isAdmin) can('read', ['Budget', 'Usage', 'Audit']);
    }
    // The deployment operator (platform.operators, by the person behind the credential), whatever their role in the
    // organization the credential belongs to: the platform's settings are theirs to read. They change in the config
    // file. Last, so that a read-only credential's restrictions above do not hide it.
    if (this.platform.isOperator(principal.userEmail)) can('read', 'Platform');
    return build();
  }
}
