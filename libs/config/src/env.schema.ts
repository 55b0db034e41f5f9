import { createPrivateKey, KeyObject } from 'node:crypto';
import { resolve } from 'node:path';
import { z } from 'zod';

const booleanFromString = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

const DEV_SECRET_KEY = 'gatehouse-development-secret-key-do-not-use-in-production';

// The environment is the deployment contract (DESIGN.md); unknown variables are ignored, known ones validated.
export const envSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    HOST: z.string().min(1).default('0.0.0.0'),
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
    DATABASE_URL: z
      .string({ error: 'DATABASE_URL is not set (e.g. postgresql://postgres@127.0.0.1:5432/gatehouse)' })
      .regex(/^postgres(ql)?:\/\//, 'DATABASE_URL must be a postgresql:// URL'),
    REDIS_URL: z
      .string()
      .regex(/^rediss?:\/\//, 'REDIS_URL must be a redis:// or rediss:// URL')
      .default('redis://127.0.0.1:6379'),
    GATEHOUSE_REDIS_PREFIX: z
      .string()
      .regex(/^[a-zA-Z0-9:_-]{1,64}$/, 'GATEHOUSE_REDIS_PREFIX may hold letters, digits, ":", "_" and "-"')
      .default('gatehouse'),
    GATEHOUSE_CONFIG: z.string().min(1).optional(),
    GATEHOUSE_SECRET_KEY: z.string().min(32, 'GATEHOUSE_SECRET_KEY must be at least 32 characters').optional(),
    // Ed25519 private key that signs audit checkpoints: PKCS#8 PEM, or its DER in base64.
    GATEHOUSE_AUDIT_SIGNING_KEY: z
      .string()
      .min(1)
      .optional()
      .refine((value) => value === undefined || parseSigningKey(value) !== null, {
        message: 'GATEHOUSE_AUDIT_SIGNING_KEY must be an Ed25519 private key (PKCS#8 PEM, or its DER in base64)',
      }),
    GATEHOUSE_RUN_WORKERS: booleanFromString.default(true),
    GATEHOUSE_MIGRATE: booleanFromString.default(true),
    GATEHOUSE_ALLOWED_ORIGINS: z
      .string()
      .default('')
      .transform((value) =>
        value
          .split(',')
          .map((origin) => origin.trim())
          .filter(Boolean),
      ),
    // Express "trust proxy": which proxies' X-Forwarded-For to believe for the client address (rate limits, logs).
    GATEHOUSE_TRUST_PROXY: z
      .string()
      .min(1)
      .default('loopback')
      .transform((value) => (/^\d+$/.test(value) ? Number(value) : value === 'true' ? true : value === 'false' ? false : value)),
    GATEHOUSE_MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(4 * 1024 * 1024),
    // How long an idle client connection stays open. Longer than a load balancer's idle timeout (60 s on most), so
    // the gateway never closes a connection the balancer is about to reuse; Node's own 5 s resets such requests.
    GATEHOUSE_HTTP_KEEP_ALIVE_SECONDS: z.coerce.number().int().min(1).max(3600).default(65),
    GATEHOUSE_CATALOG_REFRESH_SECONDS: z.coerce.number().int().min(5).default(300),
    GATEHOUSE_SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(10_000),
    // The longest any statement waits for a PostgreSQL lock (the config file's apply lock included): past it the
    // statement fails, rather than a request, a start-up or a shutdown waiting on another process for ever.
    GATEHOUSE_DB_LOCK_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
    // A start-up that has not finished by then (PostgreSQL or Redis stopped answering) exits with one line.
    GATEHOUSE_STARTUP_TIMEOUT_MS: z.coerce.number().int().min(1_000).default(180_000),
    GATEHOUSE_SESSION_IDLE_SECONDS: z.coerce.number().int().min(10).default(1800),
    // Browser sessions (sign-in pages and dashboard): ended after this long without use, and this long after sign-in.
    GATEHOUSE_BROWSER_IDLE_SECONDS: z.coerce.number().int().min(60).default(1800),
    GATEHOUSE_BROWSER_MAX_SECONDS: z.coerce.number().int().min(60).default(12 * 3600),
    // The built dashboard (npm run build writes it there), relative to the working directory.
    GATEHOUSE_DASHBOARD_DIR: z
      .string()
      .min(1)
      .default('dist/dashboard')
      .transform((value) => resolve(value)),
    GATEHOUSE_TOOLS_PAGE_SIZE: z.coerce.number().int().min(1).max(10_000).default(500),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .superRefine((env, ctx) => {
    // The development key is public (it is in this file): anything but a developer's own machine must set its own.
    if (env.NODE_ENV !== 'development' && !env.GATEHOUSE_SECRET_KEY) {
      ctx.addIssue({
        code: 'custom',
        path: ['GATEHOUSE_SECRET_KEY'],
        message: `GATEHOUSE_SECRET_KEY is required when NODE_ENV=${env.NODE_ENV} (32+ random characters; only development may run on the public development key)`,
      });
    }
    if (env.NODE_ENV === 'production' && !env.GATEHOUSE_AUDIT_SIGNING_KEY) {
      ctx.addIssue({
        code: 'custom',
        path: ['GATEHOUSE_AUDIT_SIGNING_KEY'],
        message:
          'GATEHOUSE_AUDIT_SIGNING_KEY is required when NODE_ENV=production (an Ed25519 PKCS#8 PEM: openssl genpkey -algorithm ed25519)',
      });
    }
  })
  .transform((env) => ({
    ...env,
    PUBLIC_URL: (env.PUBLIC_URL ?? `http://localhost:${env.PORT}`).replace(/\/+$/, ''),
    GATEHOUSE_SECRET_KEY: env.GATEHOUSE_SECRET_KEY ?? DEV_SECRET_KEY,
    usingDevelopmentSecretKey: !env.GATEHOUSE_SECRET_KEY,
    usingDevelopmentAuditKey: !env.GATEHOUSE_AUDIT_SIGNING_KEY,
  }));

/** An Ed25519 private key from PKCS#8 PEM or base64 DER; null when the text is neither. */
export function parseSigningKey(text: string): KeyObject | null {
  try {
    const key = text.includes('-----BEGIN')
      ? createPrivateKey(text)
      : createPrivateKey({ key: Buffer.from(text.trim(), 'base64'), format: 'der', type: 'pkcs8' });
    return key.asymmetricKeyType === 'ed25519' ? key : null;
  } catch {
    return null;
  }
}

export type Env = z.infer<typeof envSchema>;
