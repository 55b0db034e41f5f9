import { createHash } from 'node:crypto';

/**
 * How every credential is stored: API keys, OAuth codes, access and refresh tokens, client secrets. They are
 * high-entropy random values, so a fast SHA-256 with a unique index is enough (no salt or slow hash needed).
 */
export function hashCredential(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}
