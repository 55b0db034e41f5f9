import { z } from 'zod';
import { GatehouseError } from '@gatehouse/config';
import type { AuditRecordFilter } from '@gatehouse/db';

// A date (the start of that day, UTC) or a date-time with an offset.
const instant = z
  .union([z.iso.date(), z.iso.datetime({ offset: true })])
  .transform((value) => new Date(value.length === 10 ? `${value}T00:00:00Z` : value));

const text = (max: number) => z.string().min(1).max(max);

const filterShape = {
  from: instant.optional().describe('Start (inclusive): a date or an ISO 8601 date-time with offset'),
  to: instant.optional().describe('End (exclusive): a date or an ISO 8601 date-time with offset'),
  actor: text(320).optional().describe("The actor's id or name, or the email of the person behind it"),
  connection: text(64).optional().describe('Connection name (tool calls)'),
  tool: text(256).optional().describe('Downstream tool name as exposed (tool calls)'),
  decision: text(64).optional().describe('Policy decision, e.g. allow, deny, require_approval'),
  outcome: text(64).optional().describe('Outcome, e.g. success, denied, failure'),
  kind: text(128).optional().describe('Exact kind, or a prefix ending in * (tools.call.*)'),
  callId: z.uuid().optional().describe('The tools/call a request and outcome record share'),
  // Read by SessionAuthenticator, not a filter: a download link or EventSource cannot set the header.
  organization: text(64).optional().describe("The organization's slug, for dashboard sessions (as the Gatehouse-Organization header)"),
};

export const auditListQuerySchema = z
  .object({
    ...filterShape,
    cursor: text(64).optional().describe('nextCursor (older records) or prevCursor (newer records) of a page'),
    limit: z.coerce.number().int().min(1).max(1000).default(100).describe('Page size, 1-1000'),
  })
  .strict();
export type AuditListQuery = z.infer<typeof auditListQuerySchema>;

export const AUDIT_EXPORT_FORMATS = ['ndjson', 'csv', 'ocsf'] as const;
export type AuditExportFormat = (typeof AUDIT_EXPORT_FORMATS)[number];

export const auditExportQuerySchema = z
  .object({
    ...filterShape,
    format: z.enum(AUDIT_EXPORT_FORMATS).default('ndjson').describe('ndjson (native events), csv, or ocsf (OCSF API Activity as NDJSON)'),
  })
  .strict();
export type AuditExportQuery = z.infer<typeof auditExportQuerySchema>;

type FilterQuery = Partial<Pick<AuditListQuery, keyof typeof filterShape>>;

const KIND = /^[A-Za-z0-9_.:-]+$/;

/** The repository filter for a validated query; what the schema cannot check is refused here. */
export function auditRecordFilter(query: FilterQuery): AuditRecordFilter {
  if (query.from && query.to && query.from >= query.to) throw GatehouseError.invalid('from must be before to', { from: query.from, to: query.to });
  const filter: AuditRecordFilter = {
    from: query.from,
    to: query.to,
    actor: query.actor,
    connection: query.connection,
    tool: query.tool,
    decision: query.decision,
    outcome: query.outcome,
    callId: query.callId,
  };
  if (query.kind !== undefined) filter.kind = kindFilter(query.kind);
  // Absent keys rather than undefined ones, so a filter compares and logs cleanly.
  return Object.fromEntries(Object.entries(filter).filter(([, value]) => value !== undefined)) as AuditRecordFilter;
}

function kindFilter(kind: string): AuditRecordFilter['kind'] {
  const prefix = kind.endsWith('*');
  const value = prefix ? kind.slice(0, -1) : kind;
  // '*' alone (everything) is allowed; a '*' anywhere but the end is not a pattern we support.
  if ((value !== '' || !prefix) && !KIND.test(value)) {
    throw GatehouseError.invalid('kind must be a kind (tools.call.request) or a prefix ending in * (tools.call.*)', { kind });
  }
  return { value, prefix };
}

/** A page boundary: the records older than id (nextCursor), or newer than id (prevCursor). */
export interface AuditCursor {
  id: bigint;
  newer: boolean;
}

// Cursors are opaque to clients (base64url of the boundary id, '+' first for newer), so the paging key can change
// without an API change.
export function encodeCursor(id: bigint, newer = false): string {
  return Buffer.from(`${newer ? '+' : ''}${id}`, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): AuditCursor {
  const decoded = /^(\+?)([1-9][0-9]{0,18})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  const parsed = decoded ? { id: BigInt(decoded[2]!), newer: decoded[1] === '+' } : null;
  // A 19-digit number past 2^63 - 1 is not an id either; re-encoding also refuses non-canonical base64url.
  if (!parsed || parsed.id > MAX_ID || encodeCursor(parsed.id, parsed.newer) !== cursor) {
    throw GatehouseError.invalid('cursor is not a cursor this API returned', { cursor });
  }
  return parsed;
}

const MAX_ID = 2n ** 63n - 1n;
