import { Injectable } from '@nestjs/common';
import { PolicyRuleSpec, ToolClassName, ToolClassOverrideSpec } from '@gatehouse/config';
import { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma.service';

export interface StoredPolicyRule extends PolicyRuleSpec {
  id: string;
}

/** An organization's whole policy as stored: what the engine compiles. */
export interface StoredPolicy {
  version: number;
  defaultEffect: 'allow' | 'deny';
  configManaged: boolean;
  rules: StoredPolicyRule[];
  toolClasses: ToolClassOverrideSpec[];
}

/** One version of the policy as it was saved. */
export interface PolicyRevisionRecord {
  id: string;
  version: number;
  defaultEffect: 'allow' | 'deny';
  /** The whole rule set of the version, as replaceIn wrote it. */
  rules: { rules: PolicyRuleSpec[]; toolClasses: ToolClassOverrideSpec[] };
  changedBy: string | null;
  createdAt: Date;
}

export interface PolicyChange {
  defaultEffect: 'allow' | 'deny';
  rules: PolicyRuleSpec[];
  toolClasses: ToolClassOverrideSpec[];
  configManaged: boolean;
  /** Who changed it, for the revision: a principal subject or "config-file". */
  changedBy: string;
}

type Tx = Prisma.TransactionClient;

@Injectable()
export class PolicyRepository {
  constructor(private readonly prisma: PrismaService) {}

  async load(organizationId: string, tx: Tx = this.prisma): Promise<StoredPolicy> {
    const organization = await tx.organization.findUniqueOrThrow({
      where: { id: organizationId },
      select: {
        policyVersion: true,
        defaultEffect: true,
        policyConfigManaged: true,
        policyRules: { orderBy: { position: 'asc' } },
        toolClassOverrides: { orderBy: { pattern: 'asc' } },
      },
    });
    return {
      version: organization.policyVersion,
      // require_approval is not an organization default; the schema enum is shared with rules.
      defaultEffect: organization.defaultEffect === 'deny' ? 'deny' : 'allow',
      configManaged: organization.policyConfigManaged,
      rules: organization.policyRules.map((row) => ({
        id: row.id,
        name: row.name,
        ...(row.description === null ? {} : { description: row.description }),
        effect: row.effect,
        match: row.match as PolicyRuleSpec['match'],
        ...(row.approval === null ? {} : { approval: row.approval as NonNullable<PolicyRuleSpec['approval']> }),
      })),
      toolClasses: organization.toolClassOverrides.map((row) => ({ tools: row.pattern, class: row.toolClass as ToolClassName })),
    };
  }

  /** Replaces the whole policy in one transaction, bumps its version and records the revision. Returns the new version. */
  replace(organizationId: string, change: PolicyChange): Promise<number> {
    return this.prisma.$transaction((tx) => this.replaceIn(tx, organizationId, change));
  }

  /** Inside another transaction (the config file's apply, insertRule). */
  async replaceIn(tx: Tx, organizationId: string, change: PolicyChange): Promise<number> {
    // Serializes concurrent changes of one organization's policy (two admins, two replicas applying the file).
    const [organization] = await tx.$queryRaw<{ policy_version: number }[]>`
      SELECT policy_version FROM organizations WHERE id = ${organizationId}::uuid FOR UPDATE`;
    const version = organization!.policy_version + 1;
    await tx.policyRule.deleteMany({ where: { organizationId } });
    await tx.policyRule.createMany({
      data: change.rules.map((rule, position) => ({
        organizationId,
        name: rule.name,
        position,
        description: rule.description ?? null,
        effect: rule.effect,
        match: rule.match as Prisma.InputJsonObject,
        approval: rule.approval ? (rule.approval as Prisma.InputJsonObject) : Prisma.DbNull,
        configManaged: change.configManaged,
      })),
    });
    await tx.toolClassOverride.deleteMany({ where: { organizationId } });
    await tx.toolClassOverride.createMany({
      data: change.toolClasses.map((override) => ({ organizationId, pattern: override.tools, toolClass: override.class, configManaged: change.configManaged })),
    });
    await tx.organization.update({
      where: { id: organizationId },
      data: { defaultEffect: change.defaultEffect, policyConfigManaged: change.configManaged, policyVersion: version },
    });
    await tx.policyRevision.create({
      data: {
        organizationId,
        version,
        defaultEffect: change.defaultEffect,
        rules: { rules: change.rules, toolClasses: change.toolClasses } as unknown as Prisma.InputJsonObject,
        changedBy: change.changedBy,
      },
    });
    return version;
  }

  /**
   * Inserts one rule into the current policy as a new version, reading and writing under the same lock, so two
   * rules added at the same moment both land. Says why when it cannot: the name is taken, or the config file owns the policy.
   */
  insertRule(organizationId: string, rule: PolicyRuleSpec, position: number | undefined, changedBy: string): Promise<'inserted' | 'duplicate' | 'config_managed'> {
    return this.prisma.$transaction(async (tx) => {
      await tx.$queryRaw`SELECT id FROM organizations WHERE id = ${organizationId}::uuid FOR UPDATE`;
      const current = await this.load(organizationId, tx);
      if (current.configManaged) return 'config_managed';
      if (current.rules.some((existing) => existing.name === rule.name)) return 'duplicate';
      const rules = current.rules.map(({ id: _id, ...existing }) => existing);
      rules.splice(position ?? rules.length, 0, rule);
      await this.replaceIn(tx, organizationId, { defaultEffect: current.defaultEffect, rules, toolClasses: current.toolClasses, configManaged: false, changedBy });
      return 'inserted';
    });
  }

  async revisions(organizationId: string, limit = 50): Promise<PolicyRevisionRecord[]> {
    const rows = await this.prisma.policyRevision.findMany({ where: { organizationId }, orderBy: { version: 'desc' }, take: limit });
    return rows.map((row) => ({
      id: row.id,
      version: row.version,
      defaultEffect: row.defaultEffect === 'deny' ? 'deny' : 'allow',
      rules: row.rules as unknown as PolicyRevisionRecord['rules'],
      changedBy: row.changedBy,
      createdAt: row.createdAt,
    }));
  }
}
