import { Injectable, Logger } from '@nestjs/common';
import { auditSinkSpec, LoadedConfigFile, StartupError } from '@gatehouse/config';
import { ApplySummary, ConfigApplyLockTimeoutError, ConfigStateRepository, DesiredOrganization, UserRepository } from '@gatehouse/db';
import { ApiKeyService, displayPrefix, hashCredential, hashPassword, verifyPassword } from '@gatehouse/identity';
import { ConnectionEvents } from '@gatehouse/connections';
import { BudgetSettings, EndpointService, PolicyService, toBudgetRows, toCostRows } from '@gatehouse/governance';
import { AuditRecorder, AuditSettingsService, CONFIG_FILE_ACTOR } from '@gatehouse/audit';

// Converges the database onto the declarative config file; the file was fully validated (including every
// ${ENV} and secretEnv) before this runs, and the repository applies it in one transaction.
@Injectable()
export class ConfigApplier {
  private readonly logger = new Logger(ConfigApplier.name);

  constructor(
    private readonly state: ConfigStateRepository,
    private readonly events: ConnectionEvents,
    private readonly apiKeys: ApiKeyService,
    private readonly users: UserRepository,
    private readonly policies: PolicyService,
    private readonly budgets: BudgetSettings,
    private readonly auditSettings: AuditSettingsService,
    private readonly recorder: AuditRecorder,
    private readonly endpoints: EndpointService,
  ) {}

  async apply(loaded: LoadedConfigFile): Promise<ApplySummary> {
    const passwords = await this.passwordChanges(loaded);
    const desired: DesiredOrganization[] = loaded.config.organizations.map((organization) => ({
      slug: organization.slug,
      name: organization.name,
      autoAcceptToolChanges: organization.autoAcceptToolChanges,
      holdNewTools: organization.holdNewTools,
      keyApprovals: organization.keyApprovals,
      members: organization.members.map(({ email, role, name }) => ({
        email,
        role,
        ...(name === undefined ? {} : { name }),
        ...(passwords.has(email) ? { passwordHash: passwords.get(email)! } : {}),
      })),
      apiKeys: organization.apiKeys.map((key) => {
        const secret = loaded.secrets.get(key.secretEnv)!;
        return { name: key.name, role: key.role, access: key.access, secretHash: hashCredential(secret), prefix: displayPrefix(secret) };
      }),
      connections: organization.connections,
      identityProvider: organization.identityProvider
        ? {
            issuer: organization.identityProvider.issuer,
            clientId: organization.identityProvider.clientId,
            clientSecret: loaded.secrets.get(organization.identityProvider.clientSecretEnv)!,
            allowedDomains: organization.identityProvider.allowedDomains,
            groupsClaim: organization.identityProvider.groupsClaim,
            roleMap: organization.identityProvider.roleMap,
            defaultRole: organization.identityProvider.defaultRole,
          }
        : null,
      policy:
        organization.policies || organization.defaultEffect || organization.toolClasses
          ? {
              defaultEffect: organization.defaultEffect ?? 'allow',
              rules: organization.policies ?? [],
              toolClasses: organization.toolClasses ?? [],
            }
          : null,
      costs: organization.costs ? toCostRows(organization.costs) : null,
      budgets: organization.budgets ? toBudgetRows(organization.budgets) : null,
      webhooks: organization.webhooks.map(({ name, url, events, secretEnv }) => ({ name, url, events, secret: loaded.secrets.get(secretEnv)! })),
      audit: organization.audit ? { ...organization.audit, retentionDays: organization.audit.retentionDays ?? null } : null,
      auditSinks: organization.auditSinks.map((sink) => auditSinkSpec(sink, loaded.secrets)),
      workflows: organization.workflows,
      endpoints: organization.endpoints,
    }));
    const summary = await this.state.apply(desired).catch((error: unknown) => {
      throw new StartupError(`Could not apply ${loaded.file}: ${reasonOf(error)}`, { cause: error });
    });
    this.logger.log(
      `Applied ${loaded.file}: ${summary.created} created, ${summary.updated} updated, ${summary.deleted} deleted`,
    );
    await this.apiKeys.invalidateAll();
    await Promise.all(summary.changedPolicyOrganizationIds.map((organizationId) => this.policies.changed(organizationId)));
    await this.record(loaded.file, summary);
    await Promise.all(summary.changedBudgetOrganizationIds.map((organizationId) => this.budgets.changed(organizationId)));
    await Promise.all(summary.changedAuditOrganizationIds.map((organizationId) => this.auditSettings.changed(organizationId)));
    await Promise.all(summary.changedEndpointOrganizationIds.map((organizationId) => this.endpoints.changed(organizationId)));
    // Replicas already running pick the change up; this process starts its registry afterwards anyway.
    await Promise.all(
      [...summary.changedConnectionIds, ...summary.removedConnectionIds].map((connectionId) =>
        this.events.publish({ type: 'changed', connectionId }),
      ),
    );
    return summary;
  }

  // config.applied in each organization the file changed, and policy.changed (with the new version) where it
  // changed the policy: Gatehouse itself acted, on behalf of whoever deployed the file.
  private async record(file: string, summary: ApplySummary): Promise<void> {
    const policyChanged = new Set(summary.changedPolicyOrganizationIds);
    for (const { organizationId, slug, created, updated, deleted, removed } of summary.organizations) {
      await this.recorder.record({
        organizationId,
        kind: 'config.applied',
        actor: CONFIG_FILE_ACTOR,
        target: { type: 'organization', id: organizationId, slug },
        outcome: 'success',
        data: { file, created, updated, deleted, organizationRemoved: removed, policyChanged: policyChanged.has(organizationId) },
      });
      if (policyChanged.has(organizationId) && !removed) {
        await this.policies.recordChange(organizationId, await this.policies.get(organizationId), CONFIG_FILE_ACTOR, 'config_file');
      }
    }
  }

  // Hashes are salted, so "unchanged" means the stored hash still verifies the password from the
  // environment; only then is the account left alone, which keeps applying the same file a no-op.
  private async passwordChanges(loaded: LoadedConfigFile): Promise<Map<string, string>> {
    const wanted = new Map<string, string>();
    for (const organization of loaded.config.organizations) {
      for (const member of organization.members) {
        if (member.passwordEnv) wanted.set(member.email, loaded.secrets.get(member.passwordEnv)!);
      }
    }
    if (wanted.size === 0) return new Map();
    const current = await this.users.passwordHashes([...wanted.keys()]);
    const changes = new Map<string, string>();
    for (const [email, password] of wanted) {
      const stored = current.get(email);
      if (stored && (await verifyPassword(password, stored))) continue;
      changes.set(email, await hashPassword(password));
    }
    return changes;
  }
}

// One line an operator can act on: the apply is all or nothing, so nothing of the file was written.
function reasonOf(error: unknown): string {
  if (error instanceof ConfigApplyLockTimeoutError) {
    return `${error.message}; nothing was applied. Another gateway may be applying it on a slow database, or be stuck: wait for it, or stop it, then start again (GATEHOUSE_DB_LOCK_TIMEOUT_MS sets how long to wait)`;
  }
  return `${String((error as Error)?.message ?? error).trim().split('\n')[0]}; nothing was applied`;
}
