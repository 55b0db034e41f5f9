import { createPrivateKey, hkdfSync, KeyObject } from 'node:crypto';
import { z } from 'zod';
import { StartupError } from './errors/startup-error';
import { Env, envSchema, parseSigningKey } from './env.schema';

// PKCS#8 DER of an Ed25519 key is this fixed header followed by the 32-byte seed (RFC 8410).
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

// The validated environment. Built once at boot; the only reader of process.env in the code base.
export class AppConfig {
  private constructor(readonly env: Env) {}

  static fromEnvironment(source: NodeJS.ProcessEnv = process.env): AppConfig {
    const parsed = envSchema.safeParse(source);
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      const name = first?.path.join('.') ?? 'environment';
      const message = first?.message ?? z.prettifyError(parsed.error);
      throw new StartupError(message.includes(name) ? message : `${name}: ${message}`);
    }
    return new AppConfig(parsed.data);
  }

  /** Overrides for tests and the demo, validated like the real thing. */
  static from(values: Record<string, string | undefined>): AppConfig {
    return AppConfig.fromEnvironment(values as NodeJS.ProcessEnv);
  }

  get mcpUrl(): string {
    return `${this.env.PUBLIC_URL}/mcp`;
  }

  /** Origins that may call /mcp from a browser: our own plus the configured ones. */
  get allowedOrigins(): ReadonlySet<string> {
    return new Set([new URL(this.env.PUBLIC_URL).origin, ...this.env.GATEHOUSE_ALLOWED_ORIGINS]);
  }

  /** A key for one purpose (cookie signing, CSRF tokens…), derived from GATEHOUSE_SECRET_KEY. */
  deriveKey(purpose: string): Buffer {
    return Buffer.from(hkdfSync('sha256', this.env.GATEHOUSE_SECRET_KEY, 'gatehouse', purpose, 32));
  }

  /**
   * The Ed25519 key that signs audit checkpoints. Without GATEHOUSE_AUDIT_SIGNING_KEY (development and test only;
   * production refuses to start) it is derived from GATEHOUSE_SECRET_KEY, so restarts keep verifying.
   */
  auditSigningKey(): KeyObject {
    const configured = this.env.GATEHOUSE_AUDIT_SIGNING_KEY;
    if (configured) {
      const key = parseSigningKey(configured);
      // The schema already refused an unparsable key; this keeps the type honest.
      if (!key) throw new StartupError('GATEHOUSE_AUDIT_SIGNING_KEY is not an Ed25519 private key');
      return key;
    }
    const seed = this.deriveKey('audit-signing-key');
    return createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  }

  /** Variables a config file may reference with ${NAME}. */
  get processEnvironment(): NodeJS.ProcessEnv {
    return process.env;
  }
}
