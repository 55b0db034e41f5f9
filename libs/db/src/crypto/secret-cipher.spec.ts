import { createCipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { AppConfig } from '@gatehouse/config';
import { SealedSecretError, SecretCipher, secretBinding } from './secret-cipher';

const KEY = 'test-secret-key-test-secret-key-0123456789';
const cipher = new SecretCipher(AppConfig.from({ DATABASE_URL: 'postgresql://x@localhost/x', GATEHOUSE_SECRET_KEY: KEY }));

// An envelope as versions before row bindings sealed it (v1: no associated data).
function legacyEnvelope(plaintext: string): string {
  const key = Buffer.from(hkdfSync('sha256', KEY, 'gatehouse', 'downstream-secrets', 32));
  const iv = randomBytes(12);
  const sealer = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([sealer.update(plaintext, 'utf8'), sealer.final()]);
  return ['v1', iv.toString('base64url'), sealer.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
}

describe('SecretCipher', () => {
  const acme = secretBinding.connection('org-acme', 'linear');

  it('opens what it sealed for the same row, and only there', () => {
    const envelope = cipher.seal('Bearer lin_api_123', acme);
    expect(envelope).toMatch(/^v2\./);
    expect(envelope).not.toContain('lin_api_123');
    expect(cipher.open(envelope, acme)).toBe('Bearer lin_api_123');
    // Copied into another organization's connection, or another of the same organization's: it does not open.
    for (const elsewhere of [secretBinding.connection('org-globex', 'linear'), secretBinding.connection('org-acme', 'github'), secretBinding.webhook('org-acme', 'linear')]) {
      expect(() => cipher.open(envelope, elsewhere)).toThrow(SealedSecretError);
    }
    expect(cipher.holds(envelope, 'Bearer lin_api_123', acme)).toBe(true);
    expect(cipher.holds(envelope, 'Bearer lin_api_123', secretBinding.connection('org-globex', 'linear'))).toBe(false);
  });

  it('refuses an altered envelope, and one sealed under another key', () => {
    const envelope = cipher.seal('secret', acme);
    const [version, iv, tag, body] = envelope.split('.');
    const flipped = Buffer.from(body!, 'base64url');
    flipped[0] = flipped[0]! ^ 1;
    expect(() => cipher.open([version, iv, tag, flipped.toString('base64url')].join('.'), acme)).toThrow(SealedSecretError);
    const other = new SecretCipher(AppConfig.from({ DATABASE_URL: 'postgresql://x@localhost/x', GATEHOUSE_SECRET_KEY: `${KEY}-other` }));
    expect(() => other.open(envelope, acme)).toThrow(/another GATEHOUSE_SECRET_KEY/);
  });

  it('opens a legacy envelope only to reseal it', () => {
    const legacy = legacyEnvelope('old secret');
    expect(cipher.isLegacy(legacy)).toBe(true);
    expect(() => cipher.open(legacy, acme)).toThrow(/never resealed/);
    expect(cipher.openLegacy(legacy, 'linear')).toBe('old secret');
    expect(cipher.isLegacy(cipher.seal('new', acme))).toBe(false);
  });
});
