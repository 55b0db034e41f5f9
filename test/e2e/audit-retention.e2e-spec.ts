import { AuditPruner } from '@gatehouse/audit';
import { apiRequest } from '../support/admin-api';
import { query } from '../support/database';
import { startGateway, TestGateway } from '../support/gateway';

const ADMIN_KEY = 'ghk_test_retention_admin_key_0000000000';
const DAY_MS = 86_400_000;

interface Verification {
  ok: boolean;
  records: number;
  chainedUpTo: number;
  prunedUpTo?: number;
  firstBrokenSeq?: number;
  problem?: { code: string };
  checkpoints: { verified: number; failed: number };
}

describe('audit retention', () => {
  let gateway: TestGateway;
  let organizationId: string;

  const verify = async () => {
    const reply = await apiRequest<Verification>(gateway.baseUrl, ADMIN_KEY, 'GET', '/api/v1/audit/verify');
    expect(reply.status).toBe(200);
    return reply.body;
  };
  const createKeys = async (names: string[]) => {
    for (const name of names) {
      expect((await apiRequest(gateway.baseUrl, ADMIN_KEY, 'POST', '/api/v1/api-keys', { name, role: 'member' })).status).toBe(201);
    }
  };
  const seqs = async () =>
    (
      await query<{ seq: string; occurred_at: Date }>(
        gateway.databaseUrl,
        'SELECT seq::text, occurred_at FROM audit_records WHERE organization_id = $1 AND seq IS NOT NULL ORDER BY seq',
        [organizationId],
      )
    ).map((row) => ({ seq: Number(row.seq), occurredAt: row.occurred_at }));

  beforeAll(async () => {
    gateway = await startGateway({
      yaml: `
organizations:
  - slug: keep-30
    name: Keeps 30 days
    audit: { retentionDays: 30 }
    apiKeys:
      - { name: admin, role: admin, secretEnv: ADMIN_KEY }
`,
      vars: { ADMIN_KEY },
    });
    [{ id: organizationId }] = (await query<{ id: string }>(gateway.databaseUrl, "SELECT id::text FROM organizations WHERE slug = 'keep-30'")) as [
      { id: string },
    ];
  });

  afterAll(async () => {
    await gateway?.close();
  });

  it('removes the records past the period up to a signed cut, and what remains still verifies', async () => {
    await createKeys(['old-1', 'old-2', 'old-3', 'old-4']);
    expect((await verify()).ok).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 20));
    // Everything before this instant is "older than 30 days" when the pruner's clock is 30 days later.
    const cutoff = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await createKeys(['new-1', 'new-2']);
    expect((await verify()).ok).toBe(true);
    const before = await seqs();
    const firstKept = before.find((row) => row.occurredAt.getTime() >= cutoff)!.seq;

    const pruner = gateway.app.get(AuditPruner);
    const [result] = await pruner.pruneAll(new Date(cutoff + 30 * DAY_MS));
    expect(result).toMatchObject({ organizationId, cutAt: BigInt(firstKept - 1), deleted: firstKept - 1 });

    const after = await seqs();
    // The new records stay, followed by the record of the pruning itself once it is chained.
    expect(after[0]!.seq).toBe(firstKept);
    expect(after.every((row) => row.occurredAt.getTime() >= cutoff)).toBe(true);
    const [pruned] = await query<{ data: { upToSeq: string; deleted: number; retentionDays: number } }>(
      gateway.databaseUrl,
      "SELECT data FROM audit_records WHERE organization_id = $1 AND kind = 'audit.records.pruned'",
      [organizationId],
    );
    expect(pruned!.data).toMatchObject({ upToSeq: String(firstKept - 1), deleted: firstKept - 1, retentionDays: 30 });

    const verification = await verify();
    expect(verification).toMatchObject({ ok: true, prunedUpTo: firstKept - 1, checkpoints: { failed: 0 } });
    expect(verification.records).toBe(verification.chainedUpTo - (firstKept - 1));

    // Pruning again with nothing newly expired changes nothing; appending goes on from the kept head.
    expect((await pruner.pruneAll(new Date(cutoff + 30 * DAY_MS)))[0]).toMatchObject({ deleted: 0 });
    await createKeys(['newer']);
    expect(await verify()).toMatchObject({ ok: true, prunedUpTo: firstKept - 1 });
  });

  let firstAfterCut = 0;

  it('still detects a record deleted after the cut, at its sequence number', async () => {
    const [first] = await seqs();
    firstAfterCut = first!.seq;
    await query(gateway.databaseUrl, 'DELETE FROM audit_records WHERE organization_id = $1 AND seq = $2', [organizationId, first!.seq]);
    expect(await verify()).toMatchObject({ ok: false, firstBrokenSeq: first!.seq, problem: { code: 'missing_record' } });
  });

  it('refuses a forged cut: without the signing key, removing the head of the log cannot pass for retention', async () => {
    const rows = await seqs();
    const victim = rows[1]!.seq;
    const [hash] = await query<{ hash: string }>(gateway.databaseUrl, 'SELECT hash FROM audit_records WHERE organization_id = $1 AND seq = $2', [
      organizationId,
      victim,
    ]);
    await query(gateway.databaseUrl, 'DELETE FROM audit_records WHERE organization_id = $1 AND seq <= $2', [organizationId, victim]);
    await query(
      gateway.databaseUrl,
      `INSERT INTO audit_checkpoints (id, organization_id, seq, hash, signature, key_id, cut)
       SELECT gen_random_uuid(), organization_id, $2, $3, signature, key_id, true FROM audit_checkpoints
       WHERE organization_id = $1 ORDER BY seq DESC LIMIT 1`,
      [organizationId, victim, hash!.hash],
    );
    // The forged cut fails its signature; the walk starts from the genuine cut, so the removal shows where it began.
    const verification = await verify();
    expect(verification).toMatchObject({ ok: false, firstBrokenSeq: firstAfterCut, problem: { code: 'missing_record' } });
    expect(verification.checkpoints.failed).toBeGreaterThanOrEqual(1);
  });
});
