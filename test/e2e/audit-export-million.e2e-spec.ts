import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, query, redisPrefix } from '../support/database';
import { gatewayEnvironment, spawnGateway, SpawnedGateway, waitUntilReady } from '../support/gateway';
import { memory, resetPeakMemory } from '../support/process-memory';
import { freePort } from '../support/servers';
import { waitFor } from '../support/wait';

// The built gateway as its own process on 2 shared cores, and a million rows: allow minutes.
const SLOW = 240_000;

// User plus system CPU time of a process, in clock ticks (1/100 s).
function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** The gateway's V8 heap and external memory as its /metrics reports them, in MB. */
async function v8Heap(baseUrl: string): Promise<string> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const mb = (pattern: RegExp) => (Number(pattern.exec(text)?.[1] ?? NaN) / 1024 / 1024).toFixed(0);
  return (
    `heap used ${mb(/^gatehouse_nodejs_heap_size_used_bytes (\S+)/m)} MB of ${mb(/^gatehouse_nodejs_heap_size_total_bytes (\S+)/m)} MB, ` +
    `old space ${mb(/^gatehouse_nodejs_heap_space_size_total_bytes\{space="old"\} (\S+)/m)} MB, external ${mb(/^gatehouse_nodejs_external_memory_bytes (\S+)/m)} MB`
  );
}

describe('exporting a million records', () => {
  const RECORDS = 1_000_000;
  const KEY = 'ghk_test_auditq_bulk_admin_key_0000';
  let gateway: SpawnedGateway | undefined;
  let baseUrl: string;
  let databaseUrl: string;

  beforeAll(async () => {
    const directory = mkdtempSync(join(tmpdir(), 'gatehouse-audit-export-'));
    const configPath = join(directory, 'gatehouse.yaml');
    writeFileSync(configPath, 'organizations:\n  - slug: bulk\n    name: Bulk\n    apiKeys: [{ name: admin, role: admin, secretEnv: BULK_KEY }]\n');
    databaseUrl = await createTestDatabase();
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    gateway = spawnGateway(
      gatewayEnvironment({
        databaseUrl,
        redisPrefix: redisPrefix(),
        env: { PORT: String(port), PUBLIC_URL: baseUrl, GATEHOUSE_CONFIG: configPath, GATEHOUSE_MIGRATE: 'false', BULK_KEY: KEY },
      }),
    );
    await waitUntilReady(gateway!, baseUrl, 60_000);
  }, SLOW);

  afterAll(async () => {
    if (gateway && gateway.child.exitCode === null && gateway.child.signalCode === null) {
      gateway.child.kill('SIGKILL');
      await gateway.exited;
    }
  });

  it(`streams ${RECORDS.toLocaleString('en')} records as NDJSON with flat memory`, async () => {
    const [org] = await query<{ id: string }>(databaseUrl, `SELECT id::text FROM organizations WHERE slug = 'bulk'`);
    // Start-up writes a record or two of its own (not tool calls); once they are chained, the bulk continues their seq.
    await waitFor('start-up records to be chained', async () => {
      const [row] = await query<{ unchained: string }>(databaseUrl, 'SELECT count(*) FILTER (WHERE seq IS NULL) AS unchained FROM audit_records WHERE organization_id = $1', [org!.id]);
      return row!.unchained === '0';
    }, 30_000);
    const [{ head }] = (await query<{ head: string }>(databaseUrl, 'SELECT coalesce(max(seq), 0)::text AS head FROM audit_records WHERE organization_id = $1', [org!.id])) as [{ head: string }];
    // Inserted already chained (seq set; the hashes are dummies: verification is not under test), so the
    // chaining job has nothing to do during the export. ~350 bytes of JSON a record, like a tool call's.
    const insertStarted = Date.now();
    await query(
      databaseUrl,
      `INSERT INTO audit_records (organization_id, event_id, seq, occurred_at, kind, actor, target, outcome, trace_id, data, call_id, prev_hash, hash, chained_at)
       SELECT $1::uuid, gen_random_uuid(), $2::bigint + g, (now() AT TIME ZONE 'UTC') - interval '2 hours' + g * interval '5 ms',
         CASE WHEN g % 2 = 0 THEN 'tools.call.outcome' ELSE 'tools.call.request' END,
         jsonb_build_object('type', 'api_key', 'id', '6f1f6f1e-5b1a-4c8e-9f00-0123456789ab', 'name', 'ci-agent-' || (g % 50),
           'ip', '10.1.' || (g % 250) || '.' || (g % 200), 'userAgent', 'claude-code/2.1.7 (linux; x64)',
           'user', jsonb_build_object('id', '0b3c4f52-1c8a-4d3b-9e2f-3a1d5c6b7e80', 'email', 'agent-' || (g % 50) || '@acme.test')),
         jsonb_build_object('type', 'tool', 'connection', 'linear-prod', 'tool', 'create_issue_' || (g % 20), 'downstreamTool', 'create_issue_' || (g % 20)),
         CASE WHEN g % 2 = 0 THEN 'success' ELSE 'pending' END, md5(g::text),
         jsonb_build_object('decision', 'allow', 'rule', 'rule-' || (g % 10), 'latencyMs', g % 997, 'resultBytes', g % 65536, 'costMicros', g % 1000),
         gen_random_uuid(), md5((g - 1)::text) || md5(g::text), md5(g::text) || md5((g + 1)::text), now()
       FROM generate_series(1, ${RECORDS}) AS g`,
      [org!.id, head],
    );
    // Autovacuum would analyze the table soon after such an insert; the test cannot wait for it, and with
    // statistics from before the insert the planner sorts the whole range for every batch.
    await query(databaseUrl, 'ANALYZE audit_records');
    const insertSeconds = (Date.now() - insertStarted) / 1000;

    const pid = gateway!.child.pid!;
    const before = memory(pid);
    // The peak below is the export's, not start-up's.
    resetPeakMemory(pid);
    let sampledPeak = memory(pid).rss;
    const sampler = setInterval(() => (sampledPeak = Math.max(sampledPeak, memory(pid).rss)), 200);

    const started = Date.now();
    let lines = 0;
    let bytes = 0;
    let lastByte = 0;
    try {
      // Filtered to the tool calls, which are exactly the bulk (every row still passes the filter).
      const response = await fetch(`${baseUrl}/api/v1/audit/export?format=ndjson&kind=tools.call.*`, { headers: { Authorization: `Bearer ${KEY}` } });
      expect(response.status).toBe(200);
      // Count newlines chunk by chunk: nothing is kept but the counters.
      for await (const chunk of response.body!) {
        const buffer = Buffer.from(chunk as Uint8Array);
        for (let at = buffer.indexOf(10); at !== -1; at = buffer.indexOf(10, at + 1)) lines++;
        bytes += buffer.length;
        lastByte = buffer[buffer.length - 1]!;
      }
    } finally {
      clearInterval(sampler);
    }
    const seconds = (Date.now() - started) / 1000;
    const after = memory(pid);
    const heap = await v8Heap(baseUrl);

    console.log(
      [
        `audit export of ${lines.toLocaleString('en')} records (${(bytes / 1024 / 1024).toFixed(0)} MB NDJSON) in ${seconds.toFixed(1)} s ` +
          `(${Math.round(lines / seconds).toLocaleString('en')} records/s; insert took ${insertSeconds.toFixed(1)} s)`,
        `gateway RSS: baseline ${before.rss.toFixed(0)} MB, peak during export (VmHWM) ${after.hwm.toFixed(0)} MB ` +
          `(sampled max ${sampledPeak.toFixed(0)} MB), after ${after.rss.toFixed(0)} MB; start-up peak was ${before.hwm.toFixed(0)} MB`,
        // Which memory it is, should the bound ever fail: V8's heap (and old space), or memory outside it.
        `gateway V8 after: ${heap}`,
      ].join('\n'),
    );
    expect(lines).toBe(RECORDS);
    expect(lastByte).toBe(10);
    expect(after.hwm).toBeLessThan(before.rss + 150);
  }, SLOW);

  it('stops reading the database when the client goes away', async () => {
    const pid = gateway!.child.pid!;
    const controller = new AbortController();
    const response = await fetch(`${baseUrl}/api/v1/audit/export?format=csv`, { headers: { Authorization: `Bearer ${KEY}` }, signal: controller.signal });
    const reader = response.body!.getReader();
    for (let received = 0; received < 1_000_000; ) received += (await reader.read()).value!.length;
    controller.abort();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    // An export still running would keep a core busy (~200 ticks in 2 s); an idle gateway uses next to none.
    const before = cpuTicks(pid);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(cpuTicks(pid) - before).toBeLessThan(40);
  }, SLOW);
});
