// Audit write cost per tools/call, through the production build's CallAuditWriter (group commit) against the bench's
// own database, as the gateway writes: the request record naming the process that runs the call, committed before the
// downstream is called (what a call waits for, and what is timed), and the outcome record that closes it, queued
// afterwards without waiting (it goes with a later request record's statement, as in the gateway).
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { runLoad, summarize } from './stats.mjs';

export async function benchAuditWrites(root, { databaseUrl, organizationSlug, levels, durationMs }) {
  const require = createRequire(import.meta.url);
  require('reflect-metadata');
  const { AppConfig } = require(join(root, 'dist/libs/config/src'));
  const { PrismaService, SqlPool, AuditCallRepository } = require(join(root, 'dist/libs/db/src'));
  const { CallAuditWriter } = require(join(root, 'dist/libs/audit/src/calls/call-audit-writer.js'));
  const config = AppConfig.from({ DATABASE_URL: databaseUrl, GATEHOUSE_SECRET_KEY: 'bench-secret-key-bench-secret-key-0000', NODE_ENV: 'test' });
  const prisma = new PrismaService(config);
  await prisma.$connect();
  const { id: organizationId } = await prisma.organization.findUniqueOrThrow({ where: { slug: organizationSlug } });
  // Chaining is the gateway's background job; here only the writes on the call path are measured.
  const sql = new SqlPool(config);
  const writer = new CallAuditWriter(new AuditCallRepository(prisma, sql), { requestChaining() {} });
  // Records shaped like the gateway's (actor, target, redacted arguments, outcome data).
  const actor = { type: 'api_key', id: randomUUID(), name: 'bench-agent', ip: '127.0.0.1', userAgent: 'node', user: null };
  const target = { type: 'tool', connection: 'ds-01', tool: 'ds-01_echo', downstreamTool: 'echo' };
  const record = (kind, callId, outcome, data) => ({
    organizationId, eventId: randomUUID(), occurredAt: new Date(), kind, actor, target, outcome, traceId: null, data, callId,
  });
  const call = async () => {
    const callId = randomUUID();
    const request = record('tools.call.request', callId, null, { decision: 'allow', rule: { id: null, name: 'default' }, arguments: { message: 'hello' } });
    await writer.write({ records: [{ ...request, instanceId: 'bench' }], closed: [] });
    writer
      .writeSoon({
        records: [record('tools.call.outcome', callId, 'ok', { outcome: 'ok', latencyMs: 1.2, resultBytes: 64, decision: 'allow' })],
        closed: [callId],
      })
      .catch((error) => {
        outcomeError ??= error;
      });
  };
  let outcomeError = null;
  try {
    await runLoad({ concurrency: 4, durationMs: 500, clients: [null], op: call }); // warm-up
    const results = [];
    for (const concurrency of levels) {
      const run = await runLoad({ concurrency, durationMs, clients: [null], op: call });
      await writer.idle();
      if (run.errors || outcomeError) throw run.firstError ?? outcomeError;
      results.push({ concurrency, ...summarize(run.latencies, run) });
    }
    return results;
  } finally {
    await sql.onApplicationShutdown();
    await prisma.$disconnect();
  }
}
