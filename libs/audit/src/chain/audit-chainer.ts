import { Injectable, Logger } from '@nestjs/common';
import { AuditChainSession, AuditRepository, ChainLink } from '@gatehouse/db';
import { auditRecordHash, genesisHash } from '../record/audit-record';
import { AuditSigner } from './audit-signer';

// One transaction per batch: the chain lock is held briefly, and a large backlog commits progressively.
const BATCH_SIZE = 500;
// A checkpoint at most once a minute per organization, or sooner once this many records were chained since.
const CHECKPOINT_INTERVAL_MS = 60_000;
const CHECKPOINT_EVERY_RECORDS = 1000n;

export interface ChainResult {
  chained: number;
  checkpoints: number;
}

// Records are chained as they are appended (AUDIT_APPEND). This chains what was appended unchained (calls recorded
// interrupted, records from before chaining on append) in insertion (id) order, and makes the signed checkpoints of
// every organization's chain. Any replica or worker may run it, one at a time per organization (the lock lives in
// PostgreSQL, and appends take it too).
@Injectable()
export class AuditChainer {
  private readonly logger = new Logger(AuditChainer.name);

  constructor(
    private readonly repository: AuditRepository,
    private readonly signer: AuditSigner,
  ) {}

  async chainAll(): Promise<ChainResult> {
    const total: ChainResult = { chained: 0, checkpoints: 0 };
    for (const organizationId of await this.repository.organizationsWithUnchained()) {
      const result = await this.chainOrganization(organizationId);
      total.chained += result.chained;
      total.checkpoints += result.checkpoints;
    }
    const now = Date.now();
    for (const chain of await this.repository.chainsPastCheckpoint()) {
      const due = !chain.checkpointAt || now - chain.checkpointAt.getTime() >= CHECKPOINT_INTERVAL_MS || chain.headSeq - (chain.checkpointSeq ?? 0n) >= CHECKPOINT_EVERY_RECORDS;
      if (!due) continue;
      const made = await this.repository.withChainLock(chain.organizationId, async (session) => {
        const head = await session.head();
        return head ? this.checkpointIfDue(chain.organizationId, session, head.seq, head.hash, new Date()) : false;
      });
      if (made) total.checkpoints += 1;
    }
    if (total.chained > 0 || total.checkpoints > 0) this.logger.debug(total, 'Chained audit records');
    return total;
  }

  async chainOrganization(organizationId: string): Promise<ChainResult> {
    const total: ChainResult = { chained: 0, checkpoints: 0 };
    for (;;) {
      const batch = await this.repository.withChainLock(organizationId, (session) => this.chainBatch(organizationId, session));
      total.chained += batch.chained;
      total.checkpoints += batch.checkpoints;
      if (batch.chained < BATCH_SIZE) return total;
    }
  }

  private async chainBatch(organizationId: string, session: AuditChainSession): Promise<ChainResult> {
    const records = await session.unchained(BATCH_SIZE);
    if (records.length === 0) return { chained: 0, checkpoints: 0 };
    const head = await session.head();
    let seq = head?.seq ?? 0n;
    let prevHash = head?.hash ?? genesisHash(organizationId);
    const links: ChainLink[] = records.map((record) => {
      seq += 1n;
      const hash = auditRecordHash(prevHash, { ...record, seq });
      const link = { id: record.id, seq, prevHash, hash };
      prevHash = hash;
      return link;
    });
    const now = new Date();
    await session.link(links, now);
    return { chained: links.length, checkpoints: (await this.checkpointIfDue(organizationId, session, seq, prevHash, now)) ? 1 : 0 };
  }

  private async checkpointIfDue(
    organizationId: string,
    session: AuditChainSession,
    seq: bigint,
    hash: string,
    now: Date,
  ): Promise<boolean> {
    const last = await session.lastCheckpoint();
    const due =
      !last ||
      now.getTime() - last.createdAt.getTime() >= CHECKPOINT_INTERVAL_MS ||
      seq - last.seq >= CHECKPOINT_EVERY_RECORDS;
    if (!due) return false;
    await session.addCheckpoint({ seq, hash, ...this.signer.sign(organizationId, seq, hash) });
    return true;
  }
}
