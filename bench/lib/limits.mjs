// The per-call limit check at /mcp: McpLimits.admitCalls of the production build (the tools/call quotas of the
// credential and of the organization counted in Redis, then the in-process slots for calls in flight), against the
// bench's Redis, beside a bare PING on the same kind of connection. One check at a time gives its latency (what a
// call waits for it); many at once, the CPU it costs the gateway process per call.
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { REDIS_URL } from './infra.mjs';
import { runLoad, summarize } from './stats.mjs';

// Quotas the bench cannot reach: what is measured is the counting, not a refusal.
export const BENCH_LIMITS = {
  sessionsPerCredential: 10_000,
  sessionsPerOrganization: 10_000,
  inFlightCallsPerCredential: 10_000,
  inFlightCallsPerOrganization: 10_000,
  toolCallsPerCredential: { requests: 1_000_000, windowSeconds: 60 },
  toolCallsPerOrganization: { requests: 1_000_000, windowSeconds: 60 },
};

// The check alone, counted from a lease in a few µs, passes a million in well under a minute: its windows are a
// second long, so that it too never meets a refusal.
const CHECK_LIMITS = {
  ...BENCH_LIMITS,
  toolCallsPerCredential: { requests: 1_000_000, windowSeconds: 1 },
  toolCallsPerOrganization: { requests: 1_000_000, windowSeconds: 1 },
};

export async function benchLimitCheck(root, { redisPrefix, durationMs, concurrency = 16 }) {
  const require = createRequire(import.meta.url);
  require('reflect-metadata');
  const { AppConfig, PlatformSettings, platformSchema } = require(join(root, 'dist/libs/config/src'));
  const { MetricsRegistry, RedisService } = require(join(root, 'dist/libs/db/src'));
  const { LimitMetrics, RateLimiter } = require(join(root, 'dist/libs/identity/src'));
  const { McpLimits } = require(join(root, 'dist/libs/mcp/src/limits/mcp-limits.js'));
  const config = AppConfig.from({ DATABASE_URL: 'postgresql://unused@127.0.0.1/unused', REDIS_URL, GATEHOUSE_REDIS_PREFIX: redisPrefix, NODE_ENV: 'test', GATEHOUSE_SECRET_KEY: 'bench-secret-key-bench-secret-key-0000' });
  const platform = PlatformSettings.from(platformSchema.parse({ limits: CHECK_LIMITS }));
  const redis = new RedisService(config);
  const limits = new McpLimits(platform, config, new RateLimiter(redis, platform), new LimitMetrics(new MetricsRegistry()));
  const principal = { apiKeyId: randomUUID(), organizationId: randomUUID() };
  const check = async () => {
    const admission = await limits.admitCalls(principal, 1);
    if (!admission.admitted) throw new Error(`refused: ${admission.refusal.message}`);
    admission.release();
  };
  const ping = () => redis.client.ping();
  const measure = async (op, workers) => {
    const cpu = process.cpuUsage();
    const run = await runLoad({ concurrency: workers, durationMs, clients: [null], op });
    if (run.errors) throw run.firstError;
    const { user, system } = process.cpuUsage(cpu);
    const stats = summarize(run.latencies, run);
    return { ...stats, cpuUsPerOp: Math.round(((user + system) / stats.count) * 10) / 10 };
  };
  try {
    await redis.onModuleInit();
    await runLoad({ concurrency: 4, durationMs: 500, clients: [null], op: check }); // warm-up
    return {
      check: { sequential: await measure(check, 1), concurrent: await measure(check, concurrency) },
      ping: { sequential: await measure(ping, 1), concurrent: await measure(ping, concurrency) },
      concurrency,
    };
  } finally {
    await redis.onApplicationShutdown();
  }
}
