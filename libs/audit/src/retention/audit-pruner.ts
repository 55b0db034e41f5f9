import { Injectable, Logger } from '@nestjs/common';
import { AuditRepository, AuditSettingsRepository } from '@gatehouse/db';
import { AuditChainer } from '../chain/audit-chainer';
import { AuditSigner } from '../chain/audit-signer';
import { AuditLog } from '../record/audit-log';
import { SYSTEM_ACTOR } from '../record/audit-record';

const DELETE_BATCH = 5000;
const DAY_MS = 86_400_000;

export interface PruneResult {
  organizationId: string;
  /** Records up to this seq are gone (0: nothing was due). */
  cutAt: bigint;
  deleted: number;
}

// Retention removes a prefix of the chain, never a record in the middle: the oldest records up to the last one
// that occurred before the cutoff. First, under the chain lock, a signed checkpoint marked as a cut is written at
// that record, so verification of what remains starts from a signed hash; then the prefix is deleted in batches.
// The newest chained record is always kept: the chain continues from it.
@Injectable()
export class AuditPruner {
  private readonly logger = new Logger(AuditPruner.name);

  constructor(
    private readonly repository: AuditRepository,
    private readonly settings: AuditSettingsRepository,
    private readonly chainer: AuditChainer,
    private readonly signer: AuditSigner,
    private readonly log: AuditLog,
  ) {}

  async pruneAll(now = new Date()): Promise<PruneResult[]> {
    const results: PruneResult[] = [];
    for (const { organizationId, retentionDays } of await this.settings.withRetention()) {
      results.push(await this.prune(organizationId, retentionDays, now));
    }
    return results;
  }

  async prune(organizationId: string, retentionDays: number, now = new Date()): Promise<PruneResult> {
    const cutoff = new Date(now.getTime() - retentionDays * DAY_MS);
    // Chain what was appended first, so the cut sees every record that is already old enough.
    await this.chainer.chainOrganization(organizationId);
    // The new cut, else the latest one: a cut that was written but not fully deleted (a crash) is finished by the next run.
    const cutAt = await this.repository.withChainLock(organizationId, async (session) => {
      const previous = (await session.latestCutSeq()) ?? 0n;
      const head = await session.head();
      if (!head) return previous;
      const cutAt = ((await session.firstSeqSince(cutoff)) ?? head.seq) - 1n;
      if (cutAt <= previous) return previous;
      const hash = await session.hashAt(cutAt);
      if (hash === null) return previous;
      await session.addCheckpoint({ seq: cutAt, hash, cut: true, ...this.signer.sign(organizationId, cutAt, hash, true) });
      return cutAt;
    });
    let deleted = 0;
    if (cutAt > 0n) {
      let count: number;
      do {
        count = await this.repository.deleteChainedUpTo(organizationId, cutAt, DELETE_BATCH);
        deleted += count;
      } while (count === DELETE_BATCH);
    }
    if (deleted > 0) {
      this.logger.log({ organizationId, cutAt: cutAt.toString(), deleted }, 'Removed audit records past their retention period');
      await this.log.append({
        organizationId,
        kind: 'audit.records.pruned',
        actor: SYSTEM_ACTOR,
        target: { type: 'audit_log' },
        outcome: 'success',
        data: { upToSeq: cutAt.toString(), deleted, retentionDays, cutoff: cutoff.toISOString() },
      });
    }
    return { organizationId, cutAt: deleted > 0 ? cutAt : 0n, deleted };
  }
}
