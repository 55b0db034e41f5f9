import { isDeepStrictEqual } from 'node:util';
import { Injectable } from '@nestjs/common';
import { ApiKeyAccessLevel, AppConfig, AuditSinkSpec, ConnectionSpec, EndpointSpec, PolicyRuleSpec, RoleName, ToolClassOverrideSpec, WorkflowSpec } from '@gatehouse/config';
import { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma.service';
import { ApiKeyRepository } from './api-key.repository';
import { AuditSettings, AuditSettingsRepository } from './audit-settings.repository';
import { AuditSinkRepository } from './audit-sink.repository';
import { BudgetChanges, BudgetRepository, BudgetRow, CostRow } from './budget.repository';
import { ConnectionRepository } from './connection.repository';
import { EndpointRepository } from './endpoint.repository';
import { IdentityProviderRepository, IdentityProviderSpec } from './identity-provider.repository';
import { MembershipRepository } from './membership.repository';
import { PolicyRepository } from './policy.repository';
import { WebhookRepository, WebhookSpec } from './webhook.repository';
import { WorkflowRepository } from './workflow.repository';

export interface DesiredOrganization {
  slug: string;
  name: string;
  /** passwordHash: set only when the account's password must change (the applier compares first). */
  members: { email: string; role: RoleName; name?: string; passwordHash?: string }[];
  apiKeys: { name: string; role: RoleName; access: ApiKeyAccessLevel; secretHash: string; prefix: string }[];
  connections: ConnectionSpec[];
  identityProvider: IdentityProviderSpec | null;
  autoAcceptToolChanges: boolean;
  holdNewTools: boolean;
  keyApprovals: boolean;
  /** The organization's policy, when the file declares one (policies, defaultEffect or toolClasses). */
  policy: { defaultEffect: 'allow' | 'deny'; rules: PolicyRuleSpec[]; toolClasses: ToolClassOverrideSpec[] } | null;
  /** Prices per call and budgets, when the file declares them (it then owns the whole list); null otherwise. */
  costs: CostRow[] | null;
  budgets: BudgetRow[] | null;
  webhooks: WebhookSpec[];
  /** The audit settings, when the file declares them; null otherwise. */
  audit: Omit<AuditSettings, 'configManaged'> | null;
  auditSinks: AuditSinkSpec[];
  workflows: WorkflowSpec[];
  endpoints: EndpointSpec[];
}

export interface ApplySummary {
  created: number;
  updated: number;
  deleted: number;
  /** Connections whose runtime must be (re)started or stopped after the transaction commits. */
  changedConnectionIds: string[];
  removedConnectionIds: string[];
  /** Organizations whose policy changed: every replica must recompile it. */
  changedPolicyOrganizationIds: string[];
  /** Organizations whose costs or budgets changed: every replica must reload them. */
  changedBudgetOrganizationIds: string[];
  /** Organizations whose audit settings or sinks changed: every replica must reload them. */
  changedAuditOrganizationIds: string[];
  /** Organizations whose endpoints changed: every replica must reload them. */
  changedEndpointOrganizationIds: string[];
  /** What the file changed in each organization (removed ones included), for their audit logs. */
  organizations: OrganizationChanges[];
}

export interface OrganizationChanges {
  organizationId: string;
  slug: string;
  created: number;
  updated: number;
  deleted: number;
  removed: boolean;
}

// Any constant works; it only has to be the same in every replica applying the same file at boot.
export const APPLY_LOCK = 0x6761_7465;

/**
 * Another process held the config file's apply lock for longer than GATEHOUSE_DB_LOCK_TIMEOUT_MS: a replica still
 * applying (on a very slow database), or one stuck half-way. Waiting on regardless would hang start-up.
 */
export class ConfigApplyLockTimeoutError extends Error {
  constructor(readonly waitedMs: number) {
    super(`another process held the config file's apply lock (PostgreSQL advisory lock ${APPLY_LOCK}) for more than ${waitedMs} ms`);
    this.name = 'ConfigApplyLockTimeoutError';
  }
}

// PostgreSQL's lock_timeout (set on every connection, see BoundedPgPool) ended the wait.
function isLockTimeout(error: unknown): boolean {
  if (!(error instanceof Prisma.PrismaClientKnownRequestError) || error.code !== 'P2010') return false;
  const cause = (error.meta?.['driverAdapterError'] as { cause?: { code?: unknown } } | undefined)?.cause;
  return cause?.code === '55P03';
}

type Tx = Prisma.TransactionClient;

// The declarative config file is the source of truth for the objects it created (configManaged); this
// repository converges the database onto it in one transaction, writing only what differs, so applying
// the same file twice changes nothing and a failure leaves nothing half-applied.
@Injectable()
export class ConfigStateRepository {
  constructor(
    private readonly prisma: PrismaService,
    private readonly apiKeys: ApiKeyRepository,
    private readonly memberships: MembershipRepository,
    private readonly config: AppConfig,
    private readonly connections: ConnectionRepository,
    private readonly identityProviders: IdentityProviderRepository,
    private readonly policies: PolicyRepository,
    private readonly budgets: BudgetRepository,
    private readonly webhooks: WebhookRepository,
    private readonly auditSettings: AuditSettingsRepository,
    private readonly auditSinks: AuditSinkRepository,
    private readonly workflows: WorkflowRepository,
    private readonly endpoints: EndpointRepository,
  ) {}

  apply(desired: DesiredOrganization[]): Promise<ApplySummary> {
    return this.prisma.$transaction(
      async (tx) => {
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(${APPLY_LOCK})`.catch((error: unknown) => {
          throw isLockTimeout(error) ? new ConfigApplyLockTimeoutError(this.config.env.GATEHOUSE_DB_LOCK_TIMEOUT_MS) : error;
        });
        const summary: ApplySummary = {
          created: 0,
          updated: 0,
          deleted: 0,
          changedConnectionIds: [],
          removedConnectionIds: [],
          changedPolicyOrganizationIds: [],
          changedBudgetOrganizationIds: [],
          changedAuditOrganizationIds: [],
          changedEndpointOrganizationIds: [],
          organizations: [],
        };
        const removed = await tx.organization.findMany({
          where: { configManaged: true, slug: { notIn: desired.map((o) => o.slug) } },
          select: { id: true, slug: true, connections: { select: { id: true } } },
        });
        if (removed.length) {
          await tx.organization.deleteMany({ where: { id: { in: removed.map((o) => o.id) } } });
          summary.deleted += removed.length;
          summary.removedConnectionIds.push(...removed.flatMap((o) => o.connections.map((c) => c.id)));
          summary.organizations.push(...removed.map((o) => ({ organizationId: o.id, slug: o.slug, created: 0, updated: 0, deleted: 1, removed: true })));
        }
        for (const organization of desired) {
          const before = { created: summary.created, updated: summary.updated, deleted: summary.deleted };
          const organizationId = await this.applyOrganization(tx, organization, summary);
          await this.applyMembers(tx, organizationId, organization.members, summary);
          await this.applyApiKeys(tx, organizationId, organization.apiKeys, summary);
          await this.applyConnections(tx, organizationId, organization.connections, summary);
          await this.applyIdentityProvider(tx, organizationId, organization.identityProvider, summary);
          await this.applyPolicy(tx, organizationId, organization.policy, summary);
          await this.applyBudgets(tx, organizationId, organization, summary);
          await this.applyAudit(tx, organizationId, organization, summary);
          await this.applyWorkflows(tx, organizationId, organization, summary);
          await this.applyEndpoints(tx, organizationId, organization.endpoints, summary);
          const changes = { created: summary.created - before.created, updated: summary.updated - before.updated, deleted: summary.deleted - before.deleted };
          if (changes.created + changes.updated + changes.deleted > 0) {
            summary.organizations.push({ organizationId, slug: organization.slug, ...changes, removed: false });
          }
        }
        return summary;
      },
      // The wait for the apply lock (bounded by the lock timeout) comes out of the transaction's time.
      { timeout: this.config.env.GATEHOUSE_DB_LOCK_TIMEOUT_MS + 60_000, maxWait: 30_000 },
    );
  }

  private async applyOrganization(tx: Tx, desired: DesiredOrganization, summary: ApplySummary): Promise<string> {
    const existing = await tx.organization.findUnique({ where: { slug: desired.slug } });
    const data = {
      name: desired.name,
      autoAcceptToolChanges: desired.autoAcceptToolChanges,
      holdNewTools: desired.holdNewTools,
      keyApprovals: desired.keyApprovals,
      configManaged: true,
    };
    if (!existing) {
      summary.created++;
      return (await tx.organization.create({ data: { slug: desired.slug, ...data } })).id;
    }
    if (
      existing.name !== desired.name ||
      existing.autoAcceptToolChanges !== desired.autoAcceptToolChanges ||
      existing.holdNewTools !== desired.holdNewTools ||
      existing.keyApprovals !== desired.keyApprovals ||
      !existing.configManaged
    ) {
      summary.updated++;
      await tx.organization.update({ where: { id: existing.id }, data });
    }
    return existing.id;
  }

  private async applyMembers(
    tx: Tx,
    organizationId: string,
    members: DesiredOrganization['members'],
    summary: ApplySummary,
  ): Promise<void> {
    const emails = members.map((m) => m.email);
    await tx.user.createMany({ data: members.map((m) => ({ email: m.email, name: m.name ?? null })), skipDuplicates: true });
    for (const member of members) {
      if (!member.passwordHash) continue;
      summary.updated++;
      await tx.user.update({ where: { email: member.email }, data: { passwordHash: member.passwordHash } });
    }
    const users = await tx.user.findMany({ where: { email: { in: emails } }, select: { id: true, email: true } });
    const userIds = new Map(users.map((u) => [u.email, u.id]));
    const existing = await tx.membership.findMany({ where: { organizationId } });
    const byUser = new Map(existing.map((m) => [m.userId, m]));
    for (const member of members) {
      const userId = userIds.get(member.email)!;
      const current = byUser.get(userId);
      if (!current) {
        summary.created++;
        await tx.membership.create({ data: { organizationId, userId, role: member.role, configManaged: true } });
      } else if (current.role !== member.role || !current.configManaged) {
        summary.updated++;
        await this.memberships.setRoleIn(tx, current.id, { role: member.role, configManaged: true });
      }
    }
    const keep = new Set(userIds.values());
    const stale = existing.filter((m) => m.configManaged && !keep.has(m.userId)).map((m) => m.userId);
    // Taken out of the file: their keys and OAuth grants in the organization are revoked with the membership.
    summary.deleted += (await this.memberships.removeIn(tx, organizationId, stale, new Date())).removed;
  }

  private async applyApiKeys(
    tx: Tx,
    organizationId: string,
    keys: DesiredOrganization['apiKeys'],
    summary: ApplySummary,
  ): Promise<void> {
    const existing = await tx.apiKey.findMany({ where: { organizationId, configManaged: true } });
    const byName = new Map(existing.map((k) => [k.name, k]));
    for (const key of keys) {
      const current = byName.get(key.name);
      const data = { role: key.role, access: key.access, secretHash: key.secretHash, prefix: key.prefix };
      if (!current) {
        summary.created++;
        await tx.apiKey.create({ data: { organizationId, name: key.name, configManaged: true, ...data } });
      } else if (
        current.role !== key.role ||
        current.access !== key.access ||
        current.secretHash !== key.secretHash
      ) {
        // A key revoked through the API stays revoked until the file gives it a new secret.
        const rotated = current.secretHash !== key.secretHash;
        summary.updated++;
        await tx.apiKey.update({ where: { id: current.id }, data: rotated ? { ...data, revokedAt: null } : data });
      }
    }
    const wanted = new Set(keys.map((k) => k.name));
    const stale = existing.filter((k) => !wanted.has(k.name)).map((k) => k.id);
    if (stale.length) {
      // The keys they minted would otherwise lose their chain and stand alone as roots: they go first.
      await this.apiKeys.revokeTreesIn(tx, organizationId, stale, new Date());
      summary.deleted += (await tx.apiKey.deleteMany({ where: { id: { in: stale } } })).count;
    }
  }

  private async applyPolicy(tx: Tx, organizationId: string, desired: DesiredOrganization['policy'], summary: ApplySummary): Promise<void> {
    const current = await this.policies.load(organizationId, tx);
    if (!desired && !current.configManaged) return;
    // Taken out of the file: the policy the file made goes, and the API may manage it again.
    const wanted = desired ?? { defaultEffect: 'allow' as const, rules: [], toolClasses: [] };
    const unchanged =
      current.configManaged === (desired !== null) &&
      current.defaultEffect === wanted.defaultEffect &&
      isDeepStrictEqual(current.rules.map(({ id: _id, ...rule }) => rule), wanted.rules) &&
      isDeepStrictEqual(current.toolClasses, wanted.toolClasses);
    if (unchanged) return;
    summary.updated++;
    await this.policies.replaceIn(tx, organizationId, { ...wanted, configManaged: desired !== null, changedBy: 'config-file' });
    summary.changedPolicyOrganizationIds.push(organizationId);
  }

  // A list the file declares replaces the organization's; a list taken out of the file goes with what it made.
  private async applyBudgets(tx: Tx, organizationId: string, desired: DesiredOrganization, summary: ApplySummary): Promise<void> {
    const managed = await this.budgets.managedByConfig(organizationId, tx);
    const count = (changes: BudgetChanges) => {
      summary.created += changes.created;
      summary.updated += changes.updated;
      summary.deleted += changes.deleted;
      return changes.created + changes.updated + changes.deleted > 0;
    };
    const costsChanged =
      (desired.costs !== null || managed.costs) && count(await this.budgets.replaceCostsIn(tx, organizationId, desired.costs ?? [], desired.costs !== null));
    const budgetsChanged =
      (desired.budgets !== null || managed.budgets) &&
      count(await this.budgets.replaceBudgetsIn(tx, organizationId, desired.budgets ?? [], desired.budgets !== null));
    count(await this.webhooks.applyIn(tx, organizationId, desired.webhooks));
    if (costsChanged || budgetsChanged) summary.changedBudgetOrganizationIds.push(organizationId);
  }

  private async applyAudit(tx: Tx, organizationId: string, desired: DesiredOrganization, summary: ApplySummary): Promise<void> {
    const settingsChanged = await this.auditSettings.applyIn(tx, organizationId, desired.audit);
    if (settingsChanged) summary.updated++;
    const sinks = await this.auditSinks.applyIn(tx, organizationId, desired.auditSinks);
    summary.created += sinks.created;
    summary.updated += sinks.updated;
    summary.deleted += sinks.deleted;
    if (settingsChanged || sinks.created + sinks.updated + sinks.deleted > 0) summary.changedAuditOrganizationIds.push(organizationId);
  }

  // After the API keys: a schedule's runAs names one (the file's or one made through the API). Schedulers follow
  // at boot, after the transaction (WorkflowSchedules.syncAll).
  private async applyWorkflows(tx: Tx, organizationId: string, desired: DesiredOrganization, summary: ApplySummary): Promise<void> {
    const workflows = [];
    for (const spec of desired.workflows) {
      let scheduleKeyId: string | null = null;
      if (spec.schedule) {
        const ids = await this.apiKeys.activeIdsByName(organizationId, spec.schedule.runAs, tx);
        if (ids.length !== 1) {
          throw new Error(
            `organization ${desired.slug}, workflow "${spec.name}": schedule.runAs names ${ids.length === 0 ? 'no API key' : `${ids.length} API keys`} "${spec.schedule.runAs}" of the organization; it must name one unrevoked key`,
          );
        }
        scheduleKeyId = ids[0]!;
      }
      workflows.push({ spec, scheduleKeyId });
    }
    const changes = await this.workflows.applyIn(tx, organizationId, workflows);
    summary.created += changes.created;
    summary.updated += changes.updated;
    summary.deleted += changes.deleted;
  }

  private async applyEndpoints(tx: Tx, organizationId: string, desired: EndpointSpec[], summary: ApplySummary): Promise<void> {
    const changes = await this.endpoints.applyIn(tx, organizationId, desired);
    summary.created += changes.created;
    summary.updated += changes.updated;
    summary.deleted += changes.deleted;
    if (changes.created + changes.updated + changes.deleted > 0) summary.changedEndpointOrganizationIds.push(organizationId);
  }

  private async applyIdentityProvider(tx: Tx, organizationId: string, desired: IdentityProviderSpec | null, summary: ApplySummary): Promise<void> {
    const current = await tx.identityProvider.findUnique({ where: { organizationId } });
    if (!desired) {
      if (current?.configManaged) {
        await tx.identityProvider.delete({ where: { id: current.id } });
        summary.deleted++;
      }
      return;
    }
    // Compared decrypted: the secret's envelope differs on every write.
    if (current?.configManaged && isDeepStrictEqual(this.identityProviders.toSpec(current), desired)) return;
    const data = { ...this.identityProviders.toColumns(organizationId, desired), configManaged: true };
    if (current) {
      summary.updated++;
      await tx.identityProvider.update({ where: { id: current.id }, data });
    } else {
      summary.created++;
      await tx.identityProvider.create({ data: { organizationId, ...data } });
    }
  }

  private async applyConnections(
    tx: Tx,
    organizationId: string,
    specs: ConnectionSpec[],
    summary: ApplySummary,
  ): Promise<void> {
    const existing = await tx.connection.findMany({ where: { organizationId } });
    const byName = new Map(existing.map((row) => [row.name, row]));
    for (const spec of specs) {
      const row = byName.get(spec.name);
      if (!row) {
        summary.created++;
        const created = await tx.connection.create({
          data: { organizationId, configManaged: true, ...this.connections.toColumns(organizationId, spec) },
        });
        summary.changedConnectionIds.push(created.id);
        continue;
      }
      const current = ConnectionRepository.toSpec(this.connections.toRecord(row));
      if (row.configManaged && isDeepStrictEqual(current, spec)) continue;
      summary.updated++;
      await tx.connection.update({
        where: { id: row.id },
        data: { ...this.connections.toColumns(organizationId, spec), configManaged: true, status: 'pending', statusMessage: null },
      });
      summary.changedConnectionIds.push(row.id);
    }
    const wanted = new Set(specs.map((s) => s.name));
    const stale = existing.filter((row) => row.configManaged && !wanted.has(row.name)).map((row) => row.id);
    if (stale.length) {
      summary.deleted += (await tx.connection.deleteMany({ where: { id: { in: stale } } })).count;
      summary.removedConnectionIds.push(...stale);
    }
  }
}
