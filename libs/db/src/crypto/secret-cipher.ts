import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AppConfig } from '@gatehouse/config';

const VERSION = 'v1';

// AES-256-GCM for downstream credentials at rest; the key is derived from GATEHOUSE_SECRET_KEY so the
// same secret can serve other purposes (token signing) under different derivations.
@Injectable()
export class SecretCipher {
  private readonly key: Buffer;

  constructor(config: AppConfig) {
    this.key = Buffer.from(hkdfSync('sha256', config.env.GATEHOUSE_SECRET_KEY, 'gatehouse', 'downstream-secrets', 32));
  }

  encrypt(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
  }

  decrypt(envelope: string): string {
    const [version, iv, tag, body] = envelope.split('.');
    if (version !== VERSION || !iv || !tag || body === undefined) throw new Error('Unrecognised secret envelope');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
  }

  /**
   * Whether the envelope holds this secret (both null: nothing stored, nothing wanted). An envelope sealed under
   * another GATEHOUSE_SECRET_KEY cannot be read and holds nothing: the caller replaces it.
   */
  holds(envelope: string | null, secret: string | null): boolean {
    if (envelope === null || secret === null) return envelope === secret;
    try {
      return this.decrypt(envelope) === secret;
    } catch {
      return false;
    }
  }
}
