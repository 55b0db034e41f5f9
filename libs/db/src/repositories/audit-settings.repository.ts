import { isDeepStrictEqual } from 'node:util';
import { Injectable } from '@nestjs/common';
import { AuditSettingsSpec } from '@gatehouse/config';
import { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma.service';

/** An organization's audit settings as stored (retentionDays null: kept for ever). */
export interface AuditSettings {
  level: AuditSettingsSpec['level'];
  failMode: AuditSettingsSpec['failMode'];
  retentionDays: number | null;
  redactPaths: string[];
  resultMaxBytes: number;
  configManaged: boolean;
}

type Tx = Prisma.TransactionClient;

const SELECT = {
  auditLevel: true,
  auditFailMode: true,
  auditRetentionDays: true,
  auditRedactPaths: true,
  auditResultMaxBytes: true,
  auditConfigManaged: true,
} as const;

type Row = Prisma.OrganizationGetPayload<{ select: typeof SELECT }>;

const fromRow = (row: Row): AuditSettings => ({
  level: row.auditLevel,
  failMode: row.auditFailMode,
  retentionDays: row.auditRetentionDays,
  redactPaths: row.auditRedactPaths,
  resultMaxBytes: row.auditResultMaxBytes,
  configManaged: row.auditConfigManaged,
});

const toColumns = (settings: Omit<AuditSettings, 'configManaged'>) => ({
  auditLevel: settings.level,
  auditFailMode: settings.failMode,
  auditRetentionDays: settings.retentionDays,
  auditRedactPaths: settings.redactPaths,
  auditResultMaxBytes: settings.resultMaxBytes,
});

/** The defaults of an organization the config file does not configure (and of the columns). */
export const DEFAULT_AUDIT_SETTINGS: Omit<AuditSettings, 'configManaged'> = {
  level: 'arguments',
  failMode: 'closed',
  retentionDays: null,
  redactPaths: [],
  resultMaxBytes: 8192,
};

// Per-organization audit settings live on the organization row.
@Injectable()
export class AuditSettingsRepository {
  constructor(private readonly prisma: PrismaService) {}

  async find(organizationId: string): Promise<AuditSettings | null> {
    const row = await this.prisma.organization.findUnique({ where: { id: organizationId }, select: SELECT });
    return row ? fromRow(row) : null;
  }

  /** Organizations with a retention period, for the pruning job. */
  async withRetention(): Promise<{ organizationId: string; retentionDays: number }[]> {
    const rows = await this.prisma.organization.findMany({
      where: { auditRetentionDays: { not: null } },
      select: { id: true, auditRetentionDays: true },
    });
    return rows.map((row) => ({ organizationId: row.id, retentionDays: row.auditRetentionDays! }));
  }

  /** Changes the settings; returns the previous ones (the change is audited with both). */
  async update(organizationId: string, settings: Omit<AuditSettings, 'configManaged'>): Promise<{ before: AuditSettings; after: AuditSettings }> {
    return this.prisma.$transaction(async (tx) => {
      const before = fromRow(await tx.organization.findUniqueOrThrow({ where: { id: organizationId }, select: SELECT }));
      const after = fromRow(await tx.organization.update({ where: { id: organizationId }, data: toColumns(settings), select: SELECT }));
      return { before, after };
    });
  }

  /**
   * The config file's settings; null when the file does not declare them (settings it had declared go back to
   * the defaults, and the API may change them again). True when something changed.
   */
  async applyIn(tx: Tx, organizationId: string, desired: Omit<AuditSettings, 'configManaged'> | null): Promise<boolean> {
    const current = fromRow(await tx.organization.findUniqueOrThrow({ where: { id: organizationId }, select: SELECT }));
    if (!desired && !current.configManaged) return false;
    const wanted = { ...(desired ?? DEFAULT_AUDIT_SETTINGS), configManaged: desired !== null };
    if (isDeepStrictEqual(current, wanted)) return false;
    await tx.organization.update({ where: { id: organizationId }, data: { ...toColumns(wanted), auditConfigManaged: wanted.configManaged } });
    return true;
  }
}
