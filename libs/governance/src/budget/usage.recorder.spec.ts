import type { UsageEntry, UsageRepository, UsageRow } from '@gatehouse/db';
import { UsageRecorder } from './usage.recorder';

const call = (at: string, changes: Partial<UsageEntry> = {}): UsageEntry => ({
  organizationId: '0193a3f0-0000-7000-8000-000000000001',
  occurredAt: new Date(at),
  connection: 'fx',
  tool: 'echo',
  principalSubject: 'api_key:1',
  userEmail: null,
  apiKeyId: '0193a3f0-0000-7000-8000-0000000000aa',
  costMicros: 10_000n,
  outcome: 'ok',
  approvalRequestId: null,
  ...changes,
});

/** A recorder whose rows land in `written`, one array per statement; `fail` refuses the next statements. */
function recorder(): { usage: UsageRecorder; written: UsageRow[][]; fail: { times: number } } {
  const written: UsageRow[][] = [];
  const fail = { times: 0 };
  const repository = {
    insertMany: async (rows: UsageRow[]) => {
      if (fail.times > 0) {
        fail.times -= 1;
        throw new Error('connection refused');
      }
      written.push(rows.map((row) => ({ ...row })));
    },
  } as unknown as UsageRepository;
  return { usage: new UsageRecorder(repository), written, fail };
}

describe('UsageRecorder', () => {
  it('writes the calls of one second alike in every column as one row counting them, with their summed cost', async () => {
    const { usage, written } = recorder();
    for (let i = 0; i < 5; i++) usage.record(call(`2026-12-31T23:59:59.${100 + i * 100}Z`));
    usage.record(call('2026-12-31T23:59:59.700Z', { tool: 'add' }));
    usage.record(call('2026-12-31T23:59:59.800Z', { outcome: 'timeout', costMicros: 0n }));
    usage.record(call('2026-12-31T23:59:59.900Z', { approvalRequestId: '0193a3f0-0000-7000-8000-0000000000bb' }));
    // The next second is another period's (a new year, month and day): never the same row.
    usage.record(call('2027-01-01T00:00:00.000Z'));
    await usage.flush();
    expect(written).toHaveLength(1);
    const rows = written[0]!.map(({ occurredAt, tool, outcome, approvalRequestId, calls, costMicros }) => ({
      at: occurredAt.toISOString(),
      tool,
      outcome,
      approval: approvalRequestId !== null,
      calls,
      costMicros,
    }));
    expect(rows).toEqual([
      { at: '2026-12-31T23:59:59.000Z', tool: 'echo', outcome: 'ok', approval: false, calls: 5, costMicros: 50_000n },
      { at: '2026-12-31T23:59:59.000Z', tool: 'add', outcome: 'ok', approval: false, calls: 1, costMicros: 10_000n },
      { at: '2026-12-31T23:59:59.000Z', tool: 'echo', outcome: 'timeout', approval: false, calls: 1, costMicros: 0n },
      { at: '2026-12-31T23:59:59.000Z', tool: 'echo', outcome: 'ok', approval: true, calls: 1, costMicros: 10_000n },
      { at: '2027-01-01T00:00:00.000Z', tool: 'echo', outcome: 'ok', approval: false, calls: 1, costMicros: 10_000n },
    ]);
  });

  it('counts a call made after its row left in a row of its own, and writes a row that failed again as it was', async () => {
    const { usage, written, fail } = recorder();
    usage.record(call('2026-12-07T10:00:00.100Z'));
    usage.record(call('2026-12-07T10:00:00.200Z'));
    fail.times = 1;
    await usage.flush();
    expect(written).toHaveLength(0);
    // The row that failed is waiting to be written again; a call of the same second does not change it.
    usage.record(call('2026-12-07T10:00:00.300Z', { costMicros: 1n }));
    await usage.flush();
    expect(written).toEqual([
      [expect.objectContaining({ calls: 2, costMicros: 20_000n }), expect.objectContaining({ calls: 1, costMicros: 1n })],
    ]);
  });
});
