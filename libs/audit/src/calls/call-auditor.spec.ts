import { Logger } from '@nestjs/common';
import { AppConfig, PlatformSettings } from '@gatehouse/config';
import { MetricsRegistry } from '@gatehouse/db';
import type { AuditCallBatch, AuditCallRepository, AuditSettings, RedisService } from '@gatehouse/db';
import type { AuditLog } from '../record/audit-log';
import { AuditRedactor } from '../redaction/audit-redactor';
import type { AuditSettingsService } from '../settings/audit-settings.service';
import { AuditInstance } from './audit-instance';
import { CallAuditWriter } from './call-audit-writer';
import { CallAuditor } from './call-auditor';

const ORG = '6f1c2d3e-4a5b-4c6d-8e7f-8091a2b3c4d5';
const settings = (failMode: 'open' | 'closed'): AuditSettings => ({
  level: 'arguments',
  failMode,
  retentionDays: null,
  redactPaths: [],
  resultMaxBytes: 8192,
  configManaged: false,
});

// A repository whose statements wait until released, so tests can see what is batched.
function fakeRepository() {
  const statements: AuditCallBatch[] = [];
  const releases: ((error?: Error) => void)[] = [];
  // The order of row writes and statements.
  const events: string[] = [];
  const repository = {
    write: (batch: AuditCallBatch) => {
      events.push('statement');
      statements.push(batch);
      return new Promise<void>((resolve, reject) => releases.push((error) => (error ? reject(error) : resolve())));
    },
    interrupt: jest.fn(async () => 0),
    registerInstance: jest.fn(async (_id: string, _openSince: Date) => undefined),
    lowerInstance: jest.fn(async (_id: string, openSince: Date) => {
      events.push(`lower ${openSince.toISOString()}`);
    }),
  };
  return {
    repository: repository as unknown as AuditCallRepository,
    statements,
    release: (error?: Error) => releases.shift()!(error),
    events,
    /** The open_since of the last beat. */
    openSince: () => repository.registerInstance.mock.calls.at(-1)![1],
  };
}

const log = { requestChaining: jest.fn() } as unknown as AuditLog;
// The failures these tests cause are logged on purpose; keep the output readable.
beforeAll(() => Logger.overrideLogger(false));

const tick = () => new Promise((resolve) => setImmediate(resolve));
// An outcome is built on the loop's next turn and then waits up to 20 ms for a request record, so a fixed sleep
// armed before it can end first on a loaded machine: wait for the statement itself (Jest's timeout bounds it).
const statementCount = async (statements: readonly AuditCallBatch[], count: number) => {
  while (statements.length < count) await new Promise((resolve) => setTimeout(resolve, 5));
};

describe('CallAuditWriter', () => {
  it('writes what arrives during a statement in the next single statement, and settles each caller with its statement', async () => {
    const { repository, statements, release } = fakeRepository();
    const writer = new CallAuditWriter(repository, log);
    const record = (n: number) => ({ eventId: String(n) }) as never;
    const first = writer.write({ records: [record(1)], closed: [] });
    const second = writer.write({ records: [record(2)], closed: ['a'] });
    const third = writer.write({ records: [record(3)], closed: ['b'] });
    expect(statements).toHaveLength(1);
    release();
    await first;
    await tick();
    expect(statements).toHaveLength(2);
    expect(statements[1]).toEqual({ records: [record(2), record(3)], closed: ['a', 'b'] });
    release(new Error('store down'));
    await expect(second).rejects.toThrow('store down');
    await expect(third).rejects.toThrow('store down');
    await writer.idle();
  });

  it('lets an outcome wait for the next request record and writes both in one statement', async () => {
    const { repository, statements, release } = fakeRepository();
    const writer = new CallAuditWriter(repository, log);
    const outcome = writer.writeSoon({ records: [{ eventId: 'outcome' } as never], closed: ['a'] });
    await tick();
    expect(statements).toHaveLength(0);
    const request = writer.write({ records: [{ eventId: 'request' } as never], closed: [] });
    expect(statements).toEqual([{ records: [{ eventId: 'outcome' }, { eventId: 'request' }], closed: ['a'] }]);
    release();
    await Promise.all([outcome, request]);
    await writer.idle();
  });

  it('writes an outcome on its own when no request record comes soon', async () => {
    const { repository, statements, release } = fakeRepository();
    const writer = new CallAuditWriter(repository, log);
    const outcome = writer.writeSoon({ records: [{ eventId: 'outcome' } as never], closed: ['a'] });
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(statements).toEqual([{ records: [{ eventId: 'outcome' }], closed: ['a'] }]);
    release();
    await outcome;
  });

  it('does not refuse a request record for a failing outcome in its statement: it tries the two again apart', async () => {
    const { repository, statements, release } = fakeRepository();
    const writer = new CallAuditWriter(repository, log);
    const outcome = writer.writeSoon({ records: [{ eventId: 'outcome' } as never], closed: ['a'] });
    const request = writer.write({ records: [{ eventId: 'request' } as never], closed: [] });
    release(new Error('bad outcome'));
    await tick();
    expect(statements.slice(1).map((statement) => statement.records.map((record) => record.eventId))).toEqual([['request']]);
    release();
    await expect(request).resolves.toBeUndefined();
    await tick();
    expect(statements.slice(2).map((statement) => statement.records.map((record) => record.eventId))).toEqual([['outcome']]);
    release(new Error('bad outcome'));
    await expect(outcome).rejects.toThrow('bad outcome');
  });

  it('writes what waits at once when asked to be idle', async () => {
    const { repository, statements, release } = fakeRepository();
    const writer = new CallAuditWriter(repository, log);
    const outcome = writer.writeSoon({ records: [{ eventId: 'outcome' } as never], closed: ['a'] });
    const idle = writer.idle();
    expect(statements).toHaveLength(1);
    release();
    await Promise.all([outcome, idle]);
  });
});

describe('CallAuditor', () => {
  const start = { organizationId: ORG, actor: { type: 'api_key' as const, id: 'k', name: 'agent', ip: null, userAgent: null }, target: { type: 'tool' as const, connection: 'fx', tool: 'fx_echo', downstreamTool: 'echo' }, arguments: { password: 'p' } };
  const redis = { client: { set: async () => 'OK' }, key: (...parts: string[]) => parts.join(':') } as unknown as RedisService;
  const instanceOf = (repository: AuditCallRepository) => Object.assign(new AuditInstance(redis, repository), { id: 'instance-1' });
  const auditor = (failMode: 'open' | 'closed', repository: AuditCallRepository, instance = instanceOf(repository)) =>
    new CallAuditor(
      new CallAuditWriter(repository, log),
      new AuditRedactor(AppConfig.from({ DATABASE_URL: 'postgresql://x@localhost/x', GATEHOUSE_SECRET_KEY: 'k'.repeat(40) }), PlatformSettings.from(undefined)),
      { forOrganization: async () => settings(failMode) } as unknown as AuditSettingsService,
      instance,
      repository,
      new MetricsRegistry(),
    );

  it('commits the request record naming the process that runs the call, redacted, before letting the call go ahead', async () => {
    const { repository, statements, release } = fakeRepository();
    const audit = await auditor('closed', repository).begin(start);
    const opened = audit.open();
    expect(statements[0]!.records[0]).toMatchObject({ kind: 'tools.call.request', callId: audit.callId, outcome: null });
    expect(JSON.stringify(statements[0])).not.toContain('"p"');
    expect(statements[0]!.records[0]!.instanceId).toBe('instance-1');
    release();
    await expect(opened).resolves.toBeNull();
    audit.close('ok', { result: { content: [] }, costMicros: 5n });
    await statementCount(statements, 2);
    expect(statements[1]).toMatchObject({ closed: [audit.callId], records: [{ kind: 'tools.call.outcome', outcome: 'ok', callId: audit.callId, data: { costMicros: 5 } }] });
    release();
  });

  it('gives calls and records time-ordered ids (UUIDv7), so the indexes on them are appended to, not written at random', async () => {
    const { repository, statements, release } = fakeRepository();
    const subject = auditor('closed', repository);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const audit = await subject.begin(start);
      audit.decided({ effect: 'deny', rule: { id: null, name: 'no' } });
      const refused = audit.refuse('denied');
      release();
      await refused;
      const [request, outcome] = statements.at(-1)!.records;
      ids.push(audit.callId, request!.eventId, outcome!.eventId);
      expect(request!.callId).toBe(audit.callId);
    }
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // Within a call too: its id, then its request's, then its outcome's; and every call after the one before.
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('refuses the call when the request record fails and the organization fails closed; lets it through when open', async () => {
    for (const failMode of ['closed', 'open'] as const) {
      const { repository, release } = fakeRepository();
      const subject = auditor(failMode, repository);
      const audit = await subject.begin(start);
      const opened = audit.open();
      release(new Error('store down'));
      const refusal = await opened;
      if (failMode === 'closed') expect(refusal?.message).toMatch(/^Gatehouse could not write the audit record for this call, so it was not made \(error id /);
      else expect(refusal).toBeNull();
      expect((await subject.writeFailures.get()).values).toEqual([expect.objectContaining({ value: 1, labels: { organization: ORG, record: 'request', fail_mode: failMode } })]);
    }
  });

  it('fails open without losing the request: it is written with the outcome, marked as recorded after the call', async () => {
    const { repository, statements, release } = fakeRepository();
    const audit = await auditor('open', repository).begin(start);
    const opened = audit.open();
    release(new Error('store down'));
    await expect(opened).resolves.toBeNull();
    audit.close('ok', { result: { content: [] } });
    await statementCount(statements, 2);
    expect(statements[1]!.records.map((record) => [record.kind, record.callId])).toEqual([
      ['tools.call.request', audit.callId],
      ['tools.call.outcome', audit.callId],
    ]);
    expect(statements[1]!.records[0]!.eventId).toBe(statements[0]!.records[0]!.eventId);
    expect(statements[1]!.records[0]!.data).toMatchObject({ recordedAfterCall: true });
    expect(statements[1]!.closed).toEqual([]);
    release();
  });

  it('writes a refused call as request and outcome in one statement, and never throws for it', async () => {
    const { repository, statements, release } = fakeRepository();
    const audit = await auditor('closed', repository).begin(start);
    audit.decided({ effect: 'deny', rule: { id: null, name: 'no' } });
    const refused = audit.refuse('denied', { error: 'Permission denied' });
    expect(statements[0]!.records.map((record) => [record.kind, record.callId])).toEqual([
      ['tools.call.request', audit.callId],
      ['tools.call.outcome', audit.callId],
    ]);
    expect(statements[0]!.records[1]!.data).toMatchObject({ decision: 'deny', rule: { name: 'no' }, error: 'Permission denied' });
    release(new Error('store down'));
    await expect(refused).resolves.toBeUndefined();
  });

  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it("keeps the process's open_since at the start of its oldest open call until that call's outcome is committed", async () => {
    const { repository, statements, release, openSince } = fakeRepository();
    const instance = instanceOf(repository);
    const subject = auditor('closed', repository, instance);
    const first = await subject.begin(start);
    await sleep(5);
    const second = await subject.begin(start);
    await sleep(5);
    const opening = first.open();
    await statementCount(statements, 1);
    await instance.refresh();
    expect(openSince()).toEqual(first.startedAt); // its request is being written
    release();
    await opening;
    first.close('ok');
    await statementCount(statements, 2);
    await instance.refresh();
    expect(openSince()).toEqual(first.startedAt); // its outcome is written, not yet committed
    release();
    await tick();
    await instance.refresh();
    // Begun, never opened: nothing of it can be open in the database.
    expect(openSince().getTime()).toBeGreaterThan(second.startedAt.getTime());
  });

  it('brings open_since back before writing the request of a call that started before the last beat', async () => {
    const { repository, statements, release, events } = fakeRepository();
    const instance = instanceOf(repository);
    const subject = auditor('closed', repository, instance);
    const audit = await subject.begin(start);
    await sleep(5);
    await instance.refresh(); // open_since: now, past the call's start
    const opening = audit.open();
    await statementCount(statements, 1);
    expect(events).toEqual([`lower ${audit.startedAt.toISOString()}`, 'statement']);
    release();
    await expect(opening).resolves.toBeNull();
  });

  it('keeps open_since, for good, at a call whose outcome could not be written', async () => {
    const { repository, statements, release, openSince } = fakeRepository();
    const instance = instanceOf(repository);
    const subject = auditor('closed', repository, instance);
    const audit = await subject.begin(start);
    const opened = audit.open();
    release();
    await opened;
    audit.close('ok');
    await statementCount(statements, 2);
    release(new Error('store down'));
    await tick();
    await new Promise((resolve) => setTimeout(resolve, 5));
    await instance.refresh();
    expect(openSince()).toEqual(audit.startedAt);
  });
});
