import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { query } from '../support/database';
import { apiRequest } from '../support/admin-api';
import { gatewayEnvironment, ROOT, startGateway, TestGateway } from '../support/gateway';
import { waitFor } from '../support/wait';

// One gateway; one organization per tampering case, so each case starts from an intact chain.
const CASES = ['clean', 'edit', 'delete', 'insert', 'signature'] as const;
type Case = (typeof CASES)[number];
const adminKey = (org: Case) => `ghk_test_audit_${org}_admin_key_000000`;
const MEMBER_KEY = 'ghk_test_audit_clean_member_key_000000';

interface Verification {
  ok: boolean;
  records: number;
  chainedUpTo: number;
  unchained: number;
  firstBrokenSeq?: number;
  problem?: { code: string; message: string };
  checkpoints: { verified: number; failed: number; firstFailedSeq?: number };
}

interface RecordRow extends Record<string, unknown> {
  seq: string;
  kind: string;
  prev_hash: string;
  hash: string;
  actor: { type: string; name: string; ip: string | null; userAgent: string | null };
  target: { id: string };
}

describe('the audit log', () => {
  let gateway: TestGateway;
  const orgIds = new Map<Case, string>();

  const verify = async (org: Case) => {
    const reply = await apiRequest<Verification>(gateway.baseUrl, adminKey(org), 'GET', '/api/v1/audit/verify');
    expect(reply.status).toBe(200);
    return reply.body;
  };
  const records = (org: Case) =>
    query<RecordRow>(
      gateway.databaseUrl,
      'SELECT seq::text, kind, prev_hash, hash, actor, target FROM audit_records WHERE organization_id = $1 ORDER BY seq NULLS LAST, id',
      [orgIds.get(org)],
    );

  // Three keys created and one revoked: four records, after the config file's config.applied (seq 1).
  const makeRecords = async (org: Case) => {
    const ids: string[] = [];
    for (const name of ['one', 'two', 'three']) {
      const reply = await apiRequest<{ id: string }>(gateway.baseUrl, adminKey(org), 'POST', '/api/v1/api-keys', { name, role: 'member' });
      expect(reply.status).toBe(201);
      ids.push(reply.body.id);
    }
    expect((await apiRequest(gateway.baseUrl, adminKey(org), 'DELETE', `/api/v1/api-keys/${ids[1]}`)).status).toBe(200);
    return ids;
  };

  beforeAll(async () => {
    const organizations = CASES.map(
      (org) => `
  - slug: audit-${org}
    name: Audit ${org}
    apiKeys:
      - { name: admin, role: admin, secretEnv: ADMIN_${org.toUpperCase()} }${org === 'clean' ? '\n      - { name: member, role: member, secretEnv: MEMBER }' : ''}`,
    );
    gateway = await startGateway({
      yaml: `organizations:${organizations.join('')}\n`,
      vars: { MEMBER: MEMBER_KEY, ...Object.fromEntries(CASES.map((org) => [`ADMIN_${org.toUpperCase()}`, adminKey(org)])) },
    });
    for (const org of CASES) {
      const [row] = await query<{ id: string }>(gateway.databaseUrl, 'SELECT id::text FROM organizations WHERE slug = $1', [`audit-${org}`]);
      orgIds.set(org, row!.id);
    }
    await Promise.all(CASES.map((org) => makeRecords(org)));
  }, 60_000);

  afterAll(async () => {
    await gateway?.close();
  });

  it('records key changes and chains them with seq 1..n in the background', async () => {
    // No verify call here: records are chained as they are appended, and the on-demand job after the appends (or the
    // 2 s schedule) makes the checkpoint.
    const rows = await waitFor('the records to be chained', async () => {
      const found = await records('clean');
      return found.length === 5 && found.every((row) => row.seq !== null) ? found : null;
    }, 10_000);
    expect(rows.map((row) => row.seq)).toEqual(['1', '2', '3', '4', '5']);
    expect(rows.map((row) => row.kind)).toEqual([
      'config.applied',
      'admin.api_key.created',
      'admin.api_key.created',
      'admin.api_key.created',
      'admin.api_key.revoked',
    ]);
    expect(rows[0]!.prev_hash).toBe(`genesis:${orgIds.get('clean')}`);
    for (let i = 1; i < rows.length; i += 1) expect(rows[i]!.prev_hash).toBe(rows[i - 1]!.hash);
    expect(rows[1]!.actor).toMatchObject({ type: 'api_key', name: 'admin', ip: expect.stringContaining('127.0.0.1') });
    expect(rows[4]!.target.id).toBe(rows[2]!.target.id);

    const checkpoints = await waitFor('a checkpoint of the chain', async () => {
      const found = await query(gateway.databaseUrl, 'SELECT seq FROM audit_checkpoints WHERE organization_id = $1', [orgIds.get('clean')]);
      return found.length > 0 ? found : null;
    }, 10_000);
    expect(checkpoints.length).toBeGreaterThan(0);
    expect(await verify('clean')).toEqual({
      ok: true,
      records: 5,
      chainedUpTo: 5,
      unchained: 0,
      checkpoints: { verified: checkpoints.length, failed: 0 },
    });
  });

  it('lets only admins verify', async () => {
    expect((await apiRequest(gateway.baseUrl, MEMBER_KEY, 'GET', '/api/v1/audit/verify')).status).toBe(403);
    expect((await apiRequest(gateway.baseUrl, null, 'GET', '/api/v1/audit/verify')).status).toBe(401);
  });

  it('detects an edited record at its sequence number', async () => {
    expect((await verify('edit')).ok).toBe(true);
    await query(gateway.databaseUrl, `UPDATE audit_records SET data = jsonb_set(data, '{role}', '"admin"') WHERE organization_id = $1 AND seq = 3`, [
      orgIds.get('edit'),
    ]);
    expect(await verify('edit')).toMatchObject({ ok: false, firstBrokenSeq: 3, problem: { code: 'hash_mismatch' }, records: 5 });
  });

  it('detects a deleted record at its sequence number', async () => {
    expect((await verify('delete')).ok).toBe(true);
    await query(gateway.databaseUrl, 'DELETE FROM audit_records WHERE organization_id = $1 AND seq = 2', [orgIds.get('delete')]);
    expect(await verify('delete')).toMatchObject({ ok: false, firstBrokenSeq: 2, problem: { code: 'missing_record' }, records: 4 });
  });

  it('detects an inserted record with a forged seq and hash at its sequence number', async () => {
    expect((await verify('insert')).ok).toBe(true);
    const org = orgIds.get('insert')!;
    const [previous] = await query<{ hash: string }>(gateway.databaseUrl, 'SELECT hash FROM audit_records WHERE organization_id = $1 AND seq = 2', [org]);
    // Make room at seq 3 (through negative numbers, so the unique (organization, seq) index never collides).
    await query(gateway.databaseUrl, 'UPDATE audit_records SET seq = -seq WHERE organization_id = $1 AND seq >= 3', [org]);
    await query(gateway.databaseUrl, 'UPDATE audit_records SET seq = -seq + 1 WHERE organization_id = $1 AND seq < 0', [org]);
    await query(
      gateway.databaseUrl,
      `INSERT INTO audit_records (organization_id, event_id, seq, occurred_at, kind, actor, data, prev_hash, hash, chained_at)
       VALUES ($1, $2, 3, now(), 'admin.api_key.created', '{"type":"system","id":null,"name":"forger","ip":null,"userAgent":null}',
         '{}', $3, $4, now())`,
      [org, randomUUID(), previous!.hash, 'f'.repeat(64)],
    );
    expect(await verify('insert')).toMatchObject({ ok: false, firstBrokenSeq: 3, problem: { code: 'hash_mismatch' }, records: 6 });
  });

  it('reports a checkpoint whose signature was tampered with', async () => {
    const before = await verify('signature');
    expect(before).toMatchObject({ ok: true, checkpoints: { failed: 0 } });
    const org = orgIds.get('signature')!;
    const [checkpoint] = await query<{ id: string; seq: string; signature: string }>(
      gateway.databaseUrl,
      'SELECT id::text, seq::text, signature FROM audit_checkpoints WHERE organization_id = $1 ORDER BY seq LIMIT 1',
      [org],
    );
    const flipped = (checkpoint!.signature[0] === 'A' ? 'B' : 'A') + checkpoint!.signature.slice(1);
    await query(gateway.databaseUrl, 'UPDATE audit_checkpoints SET signature = $2 WHERE id = $1', [checkpoint!.id, flipped]);
    const after = await verify('signature');
    expect(after).toMatchObject({
      ok: false,
      problem: { code: 'checkpoint_mismatch' },
      checkpoints: { verified: before.checkpoints.verified - 1, failed: 1, firstFailedSeq: Number(checkpoint!.seq) },
    });
    expect(after.firstBrokenSeq).toBeUndefined();
  });

  // Runs last: the edited and signature cases above have broken their organizations' chains.
  it('npm run audit:verify (the built script) exits 0 for an intact chain and 1 for a broken one', async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number; stdout: string }>((resolve) => {
        execFile(
          process.execPath,
          [join(ROOT, 'scripts', 'audit-verify.mjs'), ...args],
          { env: { ...process.env, ...gatewayEnvironment({ databaseUrl: gateway.databaseUrl, redisPrefix: gateway.redisPrefix }) } },
          (error, stdout) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout }),
        );
      });
    const clean = await run(['--organization', 'audit-clean']);
    expect(clean).toEqual({ code: 0, stdout: expect.stringMatching(/^ok\s+audit-clean: 5 records chained up to 5/) });
    const edited = await run(['--organization', 'audit-edit']);
    expect(edited.code).toBe(1);
    expect(edited.stdout).toMatch(/BROKEN\s+audit-edit: record 3 does not match its hash.*first broken seq 3/);
    const all = await run([]);
    expect(all.code).toBe(1);
    expect(all.stdout.trim().split('\n')).toHaveLength(CASES.length);
  });
});
