import { createHash, createPublicKey, KeyObject, sign, verify } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AppConfig } from '@gatehouse/config';
import { checkpointMessage } from '../record/audit-record';

export interface CheckpointSignature {
  signature: string;
  keyId: string;
}

export interface SignedCheckpoint {
  organizationId: string;
  seq: bigint;
  hash: string;
  signature: string;
  keyId: string;
  cut?: boolean;
}

/** The first 16 hex characters of SHA-256 over the public key's SPKI DER. */
export function signingKeyId(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ format: 'der', type: 'spki' })).digest('hex').slice(0, 16);
}

// Ed25519 over `${organizationId}:${seq}:${hash}`, base64url. Verification knows only the current key: after a
// key rotation, older checkpoints report as failed until verification learns of retired public keys.
@Injectable()
export class AuditSigner {
  private readonly privateKey: KeyObject;
  private readonly publicKey: KeyObject;
  readonly keyId: string;

  constructor(config: AppConfig) {
    this.privateKey = config.auditSigningKey();
    this.publicKey = createPublicKey(this.privateKey);
    this.keyId = signingKeyId(this.publicKey);
  }

  sign(organizationId: string, seq: bigint, hash: string, cut = false): CheckpointSignature {
    const signature = sign(null, checkpointMessage(organizationId, seq, hash, cut), this.privateKey).toString('base64url');
    return { signature, keyId: this.keyId };
  }

  verify(checkpoint: SignedCheckpoint): boolean {
    if (checkpoint.keyId !== this.keyId) return false;
    const message = checkpointMessage(checkpoint.organizationId, checkpoint.seq, checkpoint.hash, checkpoint.cut ?? false);
    try {
      return verify(null, message, this.publicKey, Buffer.from(checkpoint.signature, 'base64url'));
    } catch {
      return false;
    }
  }
}
