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

  /** Inside another transaction (the config file's apply); nothing is written when nothing differs. */
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

  async revisions(organizationId: string, limit = 50) {
    return this.prisma.policyRevision.findMany({ where: { organizationId }, orderBy: { version: 'desc' }, take: limit });
  }
}
