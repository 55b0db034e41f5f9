import type { AuditQueryRepository, AuditRecordFilter, StoredAuditRecord } from '@gatehouse/db';
import { AuditQueryService } from './audit-query.service';

const ORG = '00000000-0000-4000-8000-0000000000aa';

const record = (id: number): StoredAuditRecord => ({
  id: BigInt(id),
  organizationId: ORG,
  eventId: `00000000-0000-4000-8000-${String(id).padStart(12, '0')}`,
  seq: BigInt(id),
  occurredAt: new Date(Date.UTC(2026, 0, 1, 0, 0, id)),
  kind: 'admin.api_key.created',
  actor: { type: 'user', id: 'u1', name: 'Alice' },
  target: null,
  outcome: 'success',
  traceId: null,
  data: {},
  callId: null,
  prevHash: null,
  hash: null,
});

// The repository's contract over an in-memory table of ids 1..count.
function repository(count: number) {
  const ids = Array.from({ length: count }, (_, i) => i + 1);
  const calls: { method: string; filter: AuditRecordFilter }[] = [];
  const fake: Pick<AuditQueryRepository, 'newestFirst' | 'oldestFirst' | 'lastId'> = {
    newestFirst: async (_org, filter, before, limit) => {
      calls.push({ method: 'newestFirst', filter });
      return ids.filter((id) => before === null || BigInt(id) < before).reverse().slice(0, limit).map(record);
    },
    oldestFirst: async (_org, filter, after, upTo, limit) => {
      calls.push({ method: 'oldestFirst', filter });
      return ids.filter((id) => BigInt(id) > after && (upTo === null || BigInt(id) <= upTo)).slice(0, limit).map(record);
    },
    lastId: async () => BigInt(count),
  };
  return { fake: fake as AuditQueryRepository, calls, grow: (n: number) => ids.push(...Array.from({ length: n }, (_, i) => count + i + 1)) };
}

describe('AuditQueryService', () => {
  it('pages newest first and returns every record once, with no cursor on the last page', async () => {
    const { fake } = repository(25);
    const service = new AuditQueryService(fake);
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await service.list(ORG, { limit: 10, cursor });
      seen.push(...page.items.map((item) => item.seq!));
      cursor = page.nextCursor ?? undefined;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => String(25 - i)));
  });

  it('pages back to the newest with prevCursor, the same pages in the same order', async () => {
    const service = new AuditQueryService(repository(25).fake);
    const first = await service.list(ORG, { limit: 10 });
    expect(first.prevCursor).toBeNull();
    const second = await service.list(ORG, { limit: 10, cursor: first.nextCursor! });
    const third = await service.list(ORG, { limit: 10, cursor: second.nextCursor! });
    expect(third.items.map((item) => item.seq)).toEqual(['5', '4', '3', '2', '1']);
    const backToSecond = await service.list(ORG, { limit: 10, cursor: third.prevCursor! });
    expect(backToSecond).toEqual(second);
    const backToFirst = await service.list(ORG, { limit: 10, cursor: backToSecond.prevCursor! });
    expect(backToFirst.items).toEqual(first.items);
    expect(backToFirst.prevCursor).toBeNull();
    expect(backToFirst.nextCursor).toBe(first.nextCursor);
  });

  it('has no next cursor when the page is exactly full', async () => {
    const page = await new AuditQueryService(repository(10).fake).list(ORG, { limit: 10 });
    expect(page.items).toHaveLength(10);
    expect(page.nextCursor).toBeNull();
  });

  it('exports oldest first in batches, up to the newest record at the start', async () => {
    const repo = repository(1_100);
    const download = new AuditQueryService(repo.fake).export(ORG, { format: 'ndjson', kind: 'tools.call.*' }, new Date('2026-01-02T03:04:05.678Z'));
    expect(download).toMatchObject({ contentType: 'application/x-ndjson', filename: 'gatehouse-audit-2026-01-02T03-04-05Z.ndjson' });
    const iterator = download.chunks[Symbol.asyncIterator]();
    const first = await iterator.next();
    repo.grow(100); // appended during the export: not part of it
    let text = first.value as string;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) text += next.value;
    const seqs = text.trimEnd().split('\n').map((line) => Number(JSON.parse(line).seq));
    expect(seqs).toEqual(Array.from({ length: 1_100 }, (_, i) => i + 1));
    // 250-row batches: four full ones and a last short one, which ends the walk without another query.
    expect(repo.calls.filter((call) => call.method === 'oldestFirst')).toHaveLength(5);
    expect(repo.calls[0]!.filter).toEqual({ kind: { value: 'tools.call.', prefix: true } });
  });

  it('stops querying when the consumer stops', async () => {
    const repo = repository(10_000);
    const download = new AuditQueryService(repo.fake).export(ORG, { format: 'csv' });
    for await (const chunk of download.chunks) {
      expect(chunk.startsWith('seq,')).toBe(true);
      break;
    }
    // The first ~32 KB chunk may take a second batch; not the other 38.
    expect(repo.calls.length).toBeLessThanOrEqual(2);
  });
});
