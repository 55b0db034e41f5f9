import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AppConfig } from '@gatehouse/config';

// v2 seals with associated data naming the row a secret belongs to; v1 envelopes (before v2) carry none and are
// only ever opened to be resealed (SecretResealer).
const VERSION = 'v2';
const LEGACY_VERSION = 'v1';

/**
 * Where a sealed secret belongs, bound into its envelope as associated data: an envelope copied into another
 * row (another organization's connection, say) does not open there. Built from what names the row for good (its
 * organization and name) rather than its id, so it is known before the row is written.
 */
export const secretBinding = {
  connection: (organizationId: string, name: string) => `connections:${organizationId}:${name}`,
  identityProvider: (organizationId: string) => `identity_providers:${organizationId}`,
  webhook: (organizationId: string, name: string) => `webhooks:${organizationId}:${name}`,
  auditSink: (organizationId: string, name: string) => `audit_sinks:${organizationId}:${name}`,
  // Not a row: the requestState of an MCP 2026-07-28 call held between its input rounds, bound to who made it.
  requestState: (organizationId: string, subject: string) => `mcp_request_state:${organizationId}:${subject}`,
} as const;

/** An envelope that does not open: another key, another binding, tampered with, or not an envelope at all. */
export class SealedSecretError extends Error {
  constructor(binding: string, reason: string) {
    super(`The secret sealed for ${binding} cannot be opened: ${reason}`);
    this.name = 'SealedSecretError';
  }
}

// AES-256-GCM for credentials at rest (downstream headers, env, URLs and arguments; identity provider, webhook
// and SIEM secrets). The key is derived from GATEHOUSE_SECRET_KEY so the same secret can serve other purposes
// (cookie and CSRF signing) under other derivations.
@Injectable()
export class SecretCipher {
  private readonly key: Buffer;

  constructor(config: AppConfig) {
    this.key = Buffer.from(hkdfSync('sha256', config.env.GATEHOUSE_SECRET_KEY, 'gatehouse', 'downstream-secrets', 32));
  }

  seal(plaintext: string, binding: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(binding, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
  }

  /** Throws SealedSecretError unless the envelope was sealed with this key for this binding. */
  open(envelope: string, binding: string): string {
    return this.decrypt(envelope, binding, VERSION);
  }

  /**
   * Whether the envelope holds this secret for this binding (both null: nothing stored, nothing wanted). One that
   * does not open (another GATEHOUSE_SECRET_KEY, a legacy envelope) holds nothing: the caller replaces it.
   */
  holds(envelope: string | null, secret: string | null, binding: string): boolean {
    if (envelope === null || secret === null) return envelope === secret;
    try {
      return this.open(envelope, binding) === secret;
    } catch {
      return false;
    }
  }

  /** Whether the envelope was sealed before secrets were bound to their rows. */
  isLegacy(envelope: string): boolean {
    return envelope.startsWith(`${LEGACY_VERSION}.`);
  }

  /** A legacy envelope's secret, for resealing it with its binding; nothing else may read one. */
  openLegacy(envelope: string, binding: string): string {
    return this.decrypt(envelope, null, LEGACY_VERSION, binding);
  }

  private decrypt(envelope: string, binding: string | null, expected: string, named = binding ?? ''): string {
    const [version, iv, tag, body] = envelope.split('.');
    if (version !== expected || !iv || !tag || body === undefined) {
      throw new SealedSecretError(named, version === LEGACY_VERSION ? 'it predates row bindings and was never resealed' : 'not an envelope of this version');
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
      if (binding !== null) decipher.setAAD(Buffer.from(binding, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new SealedSecretError(named, 'sealed with another GATEHOUSE_SECRET_KEY, for another row, or altered');
    }
  }
}
