import { Injectable, Optional } from '@nestjs/common';
import { AuditCheckpointRecord, AuditRepository, StoredAuditRecord } from '@gatehouse/db';
import { AuditChainer } from '../chain/audit-chainer';
import { AuditSigner } from '../chain/audit-signer';
import { auditRecordHash, genesisHash } from '../record/audit-record';

const BATCH_SIZE = 1000;

export type AuditProblemCode = 'missing_record' | 'link_mismatch' | 'hash_mismatch' | 'checkpoint_mismatch';

export interface AuditVerification {
  ok: boolean;
  /** Chained records walked. */
  records: number;
  /** The highest seq seen (0 for an empty chain). */
  chainedUpTo: number;
  /** Appended but not yet chained: not covered by this answer. */
  unchained: number;
  /** Records up to this seq were removed by retention (the walk starts from the signed cut there). */
  prunedUpTo?: number;
  /** The first sequence number at which the chain is broken: missing (deleted), edited or inserted. */
  firstBrokenSeq?: number;
  problem?: { code: AuditProblemCode; message: string };
  checkpoints: { verified: number; failed: number; firstFailedSeq?: number };
}

/** Where the chain stands, without a walk: what the overview shows on every load. */
export interface AuditChainStatus {
  /** The highest chained seq (0 for an empty chain). */
  chainedUpTo: number;
  /** Appended but not yet chained. */
  unchained: number;
  /**
   * The latest signed checkpoint; `valid`: its signature holds and it matches the record at its seq (a retention
   * cut's record is gone on purpose: its signature only). Records before it are checked by a full verification.
   */
  checkpoint: { seq: number; at: Date; cut: boolean; valid: boolean } | null;
}

interface Walk {
  expected: bigint;
  prevHash: string;
  result: AuditVerification;
}

// Walks seq 1..n in batches (memory stays flat whatever the log's size), recomputing every hash and link,
// and checks each checkpoint's signature and that it matches the record at its seq. A chain recomputed from
// some point on by someone with database access passes the hash walk but not the next signed checkpoint.
@Injectable()
export class AuditVerifier {
  constructor(
    private readonly repository: AuditRepository,
    private readonly signer: AuditSigner,
    // Absent in the read-only verification script: it reports what is chained and counts the rest.
    @Optional() private readonly chainer?: AuditChainer,
  ) {}

  /** With `chainFirst`, records appended so far are chained before the walk, so the answer covers them. */
  async verify(organizationId: string, options: { chainFirst?: boolean } = {}): Promise<AuditVerification> {
    if (options.chainFirst && this.chainer) await this.chainer.chainOrganization(organizationId);
    const walk: Walk = {
      expected: 1n,
      prevHash: genesisHash(organizationId),
      result: { ok: true, records: 0, chainedUpTo: 0, unchained: 0, checkpoints: { verified: 0, failed: 0 } },
    };
    const after = await this.startAfterCut(organizationId, walk);
    await this.walk(organizationId, walk, after);
    walk.result.unchained = await this.repository.countUnchained(organizationId);
    return walk.result;
  }

  /** A few index reads and one signature check, however long the chain: cheap enough for every overview load. */
  async status(organizationId: string): Promise<AuditChainStatus> {
    const { head, checkpoint, hashAtCheckpoint, unchained } = await this.repository.chainState(organizationId);
    return {
      chainedUpTo: Number(head?.seq ?? 0n),
      unchained,
      checkpoint: checkpoint && {
        seq: Number(checkpoint.seq),
        at: checkpoint.createdAt,
        cut: checkpoint.cut,
        valid: (checkpoint.cut || hashAtCheckpoint === checkpoint.hash) && this.signer.verify({ ...checkpoint, organizationId }),
      },
    };
  }

  // Retention removed a prefix of the chain: the walk starts after the latest cut whose signature holds, from its
  // hash. A cut that fails (forged, to pass a deletion off as retention) is reported and the one before is tried.
  private async startAfterCut(organizationId: string, walk: Walk): Promise<bigint> {
    for (let cut = await this.repository.latestCut(organizationId); cut; cut = await this.repository.latestCut(organizationId, cut.seq)) {
      if (!this.signer.verify({ ...cut, organizationId })) {
        this.checkCheckpoints(walk, organizationId, [cut], new Map());
        continue;
      }
      walk.expected = cut.seq + 1n;
      walk.prevHash = cut.hash;
      walk.result.prunedUpTo = Number(cut.seq);
      walk.result.checkpoints.verified += 1;
      return cut.seq;
    }
    return 0n;
  }

  private async walk(organizationId: string, walk: Walk, from: bigint): Promise<void> {
    let after = from;
    for (;;) {
      const batch = await this.repository.chainedAfter(organizationId, after, BATCH_SIZE);
      if (batch.length === 0) break;
      const last = batch[batch.length - 1]!.seq!;
      const hashes = new Map<bigint, string>();
      for (const record of batch) {
        this.check(walk, record);
        hashes.set(record.seq!, record.hash ?? '');
      }
      this.checkCheckpoints(walk, organizationId, await this.repository.checkpointsBetween(organizationId, after, last), hashes);
      after = last;
    }
    // Checkpoints beyond the last record: the head of the chain was cut off.
    this.checkCheckpoints(walk, organizationId, await this.repository.checkpointsBetween(organizationId, after, null), new Map());
  }

  private check(walk: Walk, record: StoredAuditRecord): void {
    const seq = record.seq!;
    const { result } = walk;
    result.records += 1;
    result.chainedUpTo = Number(seq);
    if (seq !== walk.expected) {
      this.broken(result, walk.expected, 'missing_record', `record ${walk.expected} is missing (deleted)`);
    } else if (record.prevHash !== walk.prevHash) {
      this.broken(result, seq, 'link_mismatch', `record ${seq} does not link to record ${seq - 1n} (inserted or replaced)`);
    } else if (auditRecordHash(walk.prevHash, { ...record, seq }) !== record.hash) {
      this.broken(result, seq, 'hash_mismatch', `record ${seq} does not match its hash (edited or inserted)`);
    }
    // Continue from what is stored, so one break is reported once rather than cascading.
    walk.expected = seq + 1n;
    walk.prevHash = record.hash ?? '';
  }

  private checkCheckpoints(walk: Walk, organizationId: string, checkpoints: AuditCheckpointRecord[], hashes: Map<bigint, string>): void {
    const { checkpoints: summary } = walk.result;
    for (const checkpoint of checkpoints) {
      const valid = hashes.get(checkpoint.seq) === checkpoint.hash && this.signer.verify({ ...checkpoint, organizationId });
      if (valid) {
        summary.verified += 1;
        continue;
      }
      summary.failed += 1;
      summary.firstFailedSeq ??= Number(checkpoint.seq);
      walk.result.ok = false;
      walk.result.problem ??= {
        code: 'checkpoint_mismatch',
        message: `the signed checkpoint at record ${checkpoint.seq} does not match the chain or its signature`,
      };
    }
  }

  private broken(result: AuditVerification, seq: bigint, code: AuditProblemCode, message: string): void {
    result.ok = false;
    if (result.firstBrokenSeq !== undefined) return;
    result.firstBrokenSeq = Number(seq);
    // A chain break explains a checkpoint mismatch, not the other way round.
    result.problem = { code, message };
  }
}
