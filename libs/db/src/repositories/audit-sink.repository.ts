import { isDeepStrictEqual } from 'node:util';
import { Injectable } from '@nestjs/common';
import { AuditSinkSettings, AuditSinkSpec } from '@gatehouse/config';
import { SecretCipher } from '../crypto/secret-cipher';
import { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma.service';

export interface AuditSinkChanges {
  created: number;
  updated: number;
  deleted: number;
}

type Tx = Prisma.TransactionClient;

// An organization's SIEM sinks. The secret (webhook signing secret, HEC token) is encrypted at rest.
@Injectable()
export class AuditSinkRepository {
  constructor(
    private readonly prisma: PrismaService,
    private readonly cipher: SecretCipher,
  ) {}

  /** The config file's sinks: upserted by name (delivery state kept); the ones it made and no longer lists go. */
  async applyIn(tx: Tx, organizationId: string, desired: AuditSinkSpec[]): Promise<AuditSinkChanges> {
    const existing = await tx.auditSink.findMany({ where: { organizationId } });
    const byName = new Map(existing.map((row) => [row.name, row]));
    const changes = { created: 0, updated: 0, deleted: 0 };
    for (const sink of desired) {
      const row = byName.get(sink.name);
      const data = {
        type: sink.type,
        format: sink.format,
        enabled: sink.enabled,
        settings: sink.settings as unknown as Prisma.InputJsonValue,
        secret: sink.secret === null ? null : this.cipher.encrypt(sink.secret),
        configManaged: true,
      };
      if (!row) {
        changes.created++;
        await tx.auditSink.create({ data: { organizationId, name: sink.name, ...data } });
        continue;
      }
      // Compared decrypted: the secret's envelope differs on every write.
      const same =
        row.configManaged &&
        row.type === sink.type &&
        row.format === sink.format &&
        row.enabled === sink.enabled &&
        isDeepStrictEqual(row.settings as unknown as AuditSinkSettings, sink.settings) &&
        this.holds(row.secret, sink.secret);
      if (same) continue;
      changes.updated++;
      await tx.auditSink.update({ where: { id: row.id }, data });
    }
    const wanted = new Set(desired.map((sink) => sink.name));
    const stale = existing.filter((row) => row.configManaged && !wanted.has(row.name)).map((row) => row.id);
    if (stale.length) changes.deleted += (await tx.auditSink.deleteMany({ where: { id: { in: stale } } })).count;
    return changes;
  }

  // A secret stored under another GATEHOUSE_SECRET_KEY cannot be read: it is simply replaced.
  private holds(envelope: string | null, secret: string | null): boolean {
    if (envelope === null || secret === null) return envelope === secret;
    try {
      return this.cipher.decrypt(envelope) === secret;
    } catch {
      return false;
    }
  }
}
