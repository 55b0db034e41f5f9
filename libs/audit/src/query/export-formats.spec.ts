import { parse } from 'csv-parse/sync';
import type { AuditEvent } from '../record/audit-event';
import { CSV_COLUMNS, csvField, csvRow, EXPORT_FORMATS, exportChunks } from './export-formats';

const event = (overrides: Partial<AuditEvent> = {}): AuditEvent => ({
  eventId: '00000000-0000-4000-8000-000000000001',
  organizationId: '00000000-0000-4000-8000-0000000000aa',
  seq: '7',
  occurredAt: '2026-01-02T03:04:05.006Z',
  kind: 'tools.call.outcome',
  actor: { type: 'api_key', id: 'k1', name: 'ci, agent', ip: '10.0.0.1', userAgent: 'curl/8', user: { id: 'u1', email: 'a@x.test' } },
  target: { type: 'tool', connection: 'linear', tool: 'create_issue', downstreamTool: 'create_issue' },
  outcome: 'denied',
  traceId: 't1',
  callId: '00000000-0000-4000-8000-000000000002',
  data: { decision: 'deny', rule: 'r1', note: 'say "hi"' },
  prevHash: 'p',
  hash: 'h',
  ...overrides,
});

// An RFC 4180 reader (csv-parse), as a spreadsheet or SIEM would read the file.
const parseCsv = (text: string): string[][] => parse(text, { relaxColumnCount: false }) as string[][];

describe('CSV export', () => {
  it.each([
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
    ['cr\rhere', '"cr\rhere"'],
    ['', ''],
  ])('quotes %j only when needed', (value, expected) => {
    expect(csvField(value)).toBe(expected);
  });

  it.each([
    ['=HYPERLINK("http://evil")', `"'=HYPERLINK(""http://evil"")"`],
    ['+1+1', "'+1+1"],
    ['-2+3', "'-2+3"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\t=1', "'\t=1"],
    ['\r=1', `"'\r=1"`],
  ])('neutralises the formula %j', (value, expected) => {
    expect(csvField(value)).toBe(expected);
  });

  it('writes null as an empty field', () => {
    expect(csvField(null)).toBe('');
  });

  it('writes one record per row with the documented columns', () => {
    const [header, row] = parseCsv(EXPORT_FORMATS.csv.header + csvRow(event()));
    expect(header).toEqual([...CSV_COLUMNS]);
    const cells = Object.fromEntries(header!.map((name, i) => [name, row![i]]));
    expect(cells).toMatchObject({
      seq: '7',
      actorType: 'api_key',
      actorName: 'ci, agent',
      actorEmail: 'a@x.test',
      ip: '10.0.0.1',
      connection: 'linear',
      tool: 'create_issue',
      outcome: 'denied',
      decision: 'deny',
      hash: 'h',
    });
    expect(JSON.parse(cells.data!)).toEqual(event().data);
  });

  it('leaves cells empty for records without a target, user or decision', () => {
    const [row] = parseCsv(csvRow(event({ seq: null, target: null, actor: { type: 'system' }, data: {}, callId: null })));
    expect(row).toHaveLength(CSV_COLUMNS.length);
    expect(row![CSV_COLUMNS.indexOf('connection')]).toBe('');
    expect(row![CSV_COLUMNS.indexOf('actorEmail')]).toBe('');
    expect(row![CSV_COLUMNS.indexOf('seq')]).toBe('');
  });
});

describe('export chunks', () => {
  async function* batches(...sizes: number[]) {
    for (const size of sizes) yield Array.from({ length: size }, () => event());
  }
  const collect = async (iterable: AsyncIterable<string>) => {
    const chunks: string[] = [];
    for await (const chunk of iterable) chunks.push(chunk);
    return chunks;
  };

  it('sends the CSV header with the first records, in chunks of about 32 KB', async () => {
    const chunks = await collect(exportChunks(EXPORT_FORMATS.csv, batches(2, 1)));
    expect(chunks).toHaveLength(1);
    expect(parseCsv(chunks[0]!)).toHaveLength(4);
    expect(chunks[0]!.startsWith('seq,eventId,')).toBe(true);
    const many = await collect(exportChunks(EXPORT_FORMATS.ndjson, batches(250, 250, 250)));
    expect(many.length).toBeGreaterThan(3);
    expect(many.slice(0, -1).every((chunk) => chunk.length >= 32 * 1024 && chunk.length < 34 * 1024)).toBe(true);
    expect(many.join('').split('\n')).toHaveLength(751);
  });

  it('sends the header alone when nothing matches', async () => {
    expect(await collect(exportChunks(EXPORT_FORMATS.csv, batches()))).toEqual([EXPORT_FORMATS.csv.header]);
    expect(await collect(exportChunks(EXPORT_FORMATS.ndjson, batches()))).toEqual([]);
  });

  it('writes NDJSON and OCSF one JSON document per line', async () => {
    const native = (await collect(exportChunks(EXPORT_FORMATS.ndjson, batches(3)))).join('').trimEnd().split('\n');
    expect(native.map((line) => JSON.parse(line))).toEqual([event(), event(), event()]);
    const ocsf = JSON.parse(EXPORT_FORMATS.ocsf.line(event()));
    expect(ocsf).toMatchObject({ class_uid: 6003, metadata: { uid: event().eventId } });
  });
});
