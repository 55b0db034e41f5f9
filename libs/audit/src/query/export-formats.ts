import { GATEHOUSE_VERSION } from '@gatehouse/config';
import type { AuditEvent } from '../record/audit-event';
import { toOcsf } from '../ocsf/ocsf';
import type { AuditExportFormat } from './audit-query.dto';


export interface ExportFormat {
  contentType: string;
  extension: string;
  /** Written once before the first record (CSV's header row). */
  header: string;
  line(event: AuditEvent): string;
}

export const CSV_COLUMNS = [
  'seq', 'eventId', 'occurredAt', 'kind', 'actorType', 'actorId', 'actorName', 'actorEmail', 'ip', 'userAgent',
  'connection', 'tool', 'outcome', 'decision', 'callId', 'traceId', 'hash', 'data',
] as const;

// Spreadsheets (Excel, LibreOffice, Google Sheets) evaluate a cell that starts with = + - @ as a formula, and
// some skip a leading tab or CR first; audit fields such as a user agent or a tool argument are attacker-chosen.
// OWASP's "CSV Injection" guidance: prefix such cells with ' so they are shown as text.
const FORMULA_START = /^[=+\-@\t\r]/;

/** One RFC 4180 field: formula-neutralised, quoted when it holds a comma, quote or line break. */
export function csvField(value: string | null): string {
  if (value === null) return '';
  const safe = FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

interface Fields {
  type?: unknown;
  id?: unknown;
  name?: unknown;
  ip?: unknown;
  userAgent?: unknown;
  user?: unknown;
  email?: unknown;
  connection?: unknown;
  tool?: unknown;
  decision?: unknown;
}

// Scalars as text; anything else (absent, null, objects) as an empty cell.
const scalar = (value: unknown): string | null =>
  typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : null;

const object = (value: unknown): Fields => (value !== null && typeof value === 'object' ? (value as Fields) : {});

export function csvRow(event: AuditEvent): string {
  const actor = object(event.actor);
  const target = object(event.target);
  const cells = [
    event.seq, event.eventId, event.occurredAt, event.kind,
    scalar(actor.type), scalar(actor.id), scalar(actor.name), scalar(object(actor.user).email), scalar(actor.ip), scalar(actor.userAgent),
    scalar(target.connection), scalar(target.tool), event.outcome, scalar(object(event.data).decision),
    event.callId, event.traceId, event.hash, JSON.stringify(event.data ?? null),
  ];
  return `${cells.map(csvField).join(',')}\r\n`;
}

export const EXPORT_FORMATS: Record<AuditExportFormat, ExportFormat> = {
  ndjson: { contentType: 'application/x-ndjson', extension: 'ndjson', header: '', line: (event) => `${JSON.stringify(event)}\n` },
  csv: { contentType: 'text/csv; charset=utf-8', extension: 'csv', header: `${CSV_COLUMNS.join(',')}\r\n`, line: csvRow },
  ocsf: {
    contentType: 'application/x-ndjson',
    extension: 'ocsf.ndjson',
    header: '',
    line: (event) => `${JSON.stringify(toOcsf(event, GATEHOUSE_VERSION))}\n`,
  },
};

// Chunks of about this many characters. Small enough to stay in V8's young generation: a string over ~128 KB
// goes straight to large-object space, which only a full mark-compact frees, and per-batch chunks of a
// megabyte or two let a million-record export pile up hundreds of MB of garbage between those collections.
const CHUNK_CHARS = 32 * 1024;

/**
 * The export body in ~32 KB chunks. The first chunk (with the CSV header) is produced only after the first
 * batch has been read, so nothing is written, and the status is not committed, until the first query succeeds.
 */
export async function* exportChunks(format: ExportFormat, batches: AsyncIterable<AuditEvent[]>): AsyncGenerator<string> {
  let pending = format.header;
  for await (const batch of batches) {
    for (const event of batch) {
      pending += format.line(event);
      if (pending.length >= CHUNK_CHARS) {
        yield pending;
        pending = '';
      }
    }
  }
  if (pending) yield pending;
}
