import type { AuditRepository, AuditSinkRepository, AuditSinkTarget, StoredAuditRecord } from '@gatehouse/db';
import { AuditSinkDeliverer } from './audit-sink.deliverer';
import { DEFAULT_RETRY_POLICY } from './audit-sink.job';

const DEAD_LETTER_AFTER = DEFAULT_RETRY_POLICY.deadLetterAfter;
import type { AuditSinkMetrics } from './audit-sink.metrics';
import type { AuditSinkQueue } from './audit-sink.queue';
import type { SinkBatch } from './sink-event';
import type { SinkTransports } from './transports/sink-transports';

const ORG = '00000000-0000-4000-8000-000000000001';
const SINK = '00000000-0000-4000-8000-000000000002';

const record = (seq: number): StoredAuditRecord => ({
  id: BigInt(seq),
  organizationId: ORG,
  eventId: `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`,
  seq: BigInt(seq),
  occurredAt: new Date(1_700_000_000_000 + seq),
  kind: 'auth.sign_in',
  actor: { type: 'user', id: 'u' },
  target: null,
  outcome: 'success',
  traceId: null,
  data: {},
  callId: null,
  prevHash: 'p',
  hash: 'h',
});

interface State {
  cursor: bigint;
  failures: number;
  dead: boolean;
  sent: SinkBatch[];
}

function setup(options: { records: number; failures?: number; send?: (batch: SinkBatch, state: State) => Promise<void> }) {
  const state: State = { cursor: 0n, failures: options.failures ?? 0, dead: false, sent: [] };
  const target = (): AuditSinkTarget => ({
    id: SINK,
    organizationId: ORG,
    name: 'soc',
    type: 'webhook',
    format: 'native',
    settings: { type: 'webhook', url: 'http://127.0.0.1:1/hook', batchSize: 3 },
    secret: 'whsec_abc',
    enabled: true,
    state: state.dead ? 'dead_letter' : 'active',
    cursor: state.cursor,
    failures: state.failures,
    lastAttemptAt: state.failures ? new Date(0) : null,
  });
  const sinks = {
    forDelivery: jest.fn(async () => target()),
    advanceCursor: jest.fn(async (_o: string, _i: string, from: bigint, to: bigint) => {
      if (state.cursor !== from) return false;
      state.cursor = to;
      state.failures = 0;
      return true;
    }),
    recordFailure: jest.fn(async () => {
      state.failures += 1;
      state.dead = state.failures >= DEAD_LETTER_AFTER;
      return { failures: state.failures, state: state.dead ? 'dead_letter' : 'active' };
    }),
    rewindCursor: jest.fn(),
  };
  const all = Array.from({ length: options.records }, (_, i) => record(i + 1));
  const records = { chainedAfter: jest.fn(async (_o: string, after: bigint, limit: number) => all.filter((r) => r.seq! > after).slice(0, limit)) };
  const send = (batch: SinkBatch) => (options.send ? options.send(batch, state) : Promise.resolve(void state.sent.push(batch)));
  const transports = { for: () => ({ send, close: () => undefined }), drop: jest.fn() };
  const metrics = { delivered: { inc: jest.fn() }, failures: { inc: jest.fn() } };
  const deliverer = new AuditSinkDeliverer(
    sinks as unknown as AuditSinkRepository,
    records as unknown as AuditRepository,
    transports as unknown as SinkTransports,
    metrics as unknown as AuditSinkMetrics,
    { deliver: jest.fn() } as unknown as AuditSinkQueue,
  );
  return { deliverer, state, sinks };
}

describe('AuditSinkDeliverer', () => {
  it('sends every record in seq order, batch by batch, advancing the cursor after each', async () => {
    const { deliverer, state } = setup({ records: 7 });
    expect(await deliverer.run({ organizationId: ORG, sinkId: SINK })).toBeNull();
    expect(state.sent.map((b) => [b.firstSeq, b.lastSeq])).toEqual([[1n, 3n], [4n, 6n], [7n, 7n]]);
    expect(state.cursor).toBe(7n);
  });

  it('keeps the cursor on a failure and asks to retry after the backoff', async () => {
    const { deliverer, state } = setup({ records: 2, send: async () => Promise.reject(new Error('HTTP 500')) });
    expect(await deliverer.run({ organizationId: ORG, sinkId: SINK })).toBe(1000);
    expect(state.cursor).toBe(0n);
    expect(state.failures).toBe(1);
  });

  it('dead-letters after the last allowed failure and then stops', async () => {
    const { deliverer, state, sinks } = setup({ records: 2, failures: DEAD_LETTER_AFTER - 1, send: async () => Promise.reject(new Error('HTTP 401')) });
    expect(await deliverer.run({ organizationId: ORG, sinkId: SINK })).toBeNull();
    expect(state.dead).toBe(true);
    expect(await deliverer.run({ organizationId: ORG, sinkId: SINK })).toBeNull();
    expect(sinks.recordFailure).toHaveBeenCalledTimes(1);
    expect(state.cursor).toBe(0n);
  });

  it('stops and asks for a fresh run when another run moved the cursor', async () => {
    // The other run's update lands between this run's send and its conditional update.
    const { deliverer, state } = setup({ records: 5, send: async (_batch, state) => void (state.cursor = 99n) });
    expect(await deliverer.run({ organizationId: ORG, sinkId: SINK })).toBe(0);
    expect(state.cursor).toBe(99n);
  });
});
