import { Injectable } from '@nestjs/common';
import { GatehouseError } from '@gatehouse/config';
import { AuditQueryRepository, AuditRecordFilter, StoredAuditRecord } from '@gatehouse/db';
import { AuditEvent, auditEvent } from '../record/audit-event';
import { AuditExportQuery, AuditListQuery, auditRecordFilter, decodeCursor, encodeCursor } from './audit-query.dto';
import { approvalIdOf, callTimeline, CallTimeline } from './call-timeline';
import { EXPORT_FORMATS, exportChunks } from './export-formats';

// Rows per export query. Small on purpose: a batch this size is garbage before V8's next young-generation
// collection, so nothing is promoted to the old generation and the heap stays flat. Measured on a million
// records: 250 or 500 rows add ~10 MB of peak RSS (OCSF needs 250), 1,000 or 2,000 add ~170 MB, at the same speed.
const EXPORT_BATCH = 250;

// A call has two records (three when it ran after an approval); an approval request a handful. The bounds only
// stop a forged history from making one timeline unbounded.
const CALL_RECORDS = 20;
const APPROVAL_RECORDS = 50;
// Where a call's approval records are looked for: the index on (organization, occurred_at) keeps the search to
// this window around the call, not the organization's whole log.
const APPROVAL_WINDOW_MS = 7 * 24 * 3600 * 1000;

export interface AuditPage {
  items: AuditEvent[];
  /** Older records: null on the last page. */
  nextCursor: string | null;
  /** Newer records: null on the first page. */
  prevCursor: string | null;
}

export interface AuditDownload {
  contentType: string;
  filename: string;
  chunks: AsyncIterable<string>;
}

// Reads an organization's audit records: pages for the API (newest first) and whole exports (oldest first).
@Injectable()
export class AuditQueryService {
  constructor(private readonly records: AuditQueryRepository) {}

  async list(organizationId: string, query: AuditListQuery): Promise<AuditPage> {
    const filter = auditRecordFilter(query);
    const cursor = query.cursor === undefined ? null : decodeCursor(query.cursor);
    // One row more than the page says whether there is a page beyond it, so the last page has no cursor.
    if (cursor?.newer) {
      const rows = await this.records.oldestFirst(organizationId, filter, cursor.id, null, query.limit + 1);
      const page = rows.slice(0, query.limit).reverse();
      // The cursor's own record is older than this page, so there is an older page.
      return this.page(page, rows.length > query.limit, page.length > 0);
    }
    const rows = await this.records.newestFirst(organizationId, filter, cursor?.id ?? null, query.limit + 1);
    return this.page(rows.slice(0, query.limit), cursor !== null, rows.length > query.limit);
  }

  /** A call's records and its approval request's, as steps; not found when the organization has no such call. */
  async call(organizationId: string, callId: string): Promise<CallTimeline> {
    const records = (await this.records.oldestFirst(organizationId, { callId }, 0n, null, CALL_RECORDS)).map(auditEvent);
    const first = records[0];
    if (!first) throw GatehouseError.notFound(`No audit records of call ${callId}`);
    const approvalRequest = approvalIdOf(records);
    const at = Date.parse(first.occurredAt);
    const approvals = approvalRequest
      ? await this.records.oldestFirst(
          organizationId,
          { approvalRequest, kind: { value: 'approval.', prefix: true }, from: new Date(at - APPROVAL_WINDOW_MS), to: new Date(at + APPROVAL_WINDOW_MS) },
          0n,
          null,
          APPROVAL_RECORDS,
        )
      : [];
    return callTimeline(callId, records, approvals.map(auditEvent));
  }

  private page(page: StoredAuditRecord[], newer: boolean, older: boolean): AuditPage {
    return {
      items: page.map(auditEvent),
      nextCursor: older && page.length > 0 ? encodeCursor(page[page.length - 1]!.id) : null,
      prevCursor: newer && page.length > 0 ? encodeCursor(page[0]!.id, true) : null,
    };
  }

  /** Validates the query now (so a bad filter is a 400, not a broken download); the body is lazy. */
  export(organizationId: string, query: AuditExportQuery, now = new Date()): AuditDownload {
    const filter = auditRecordFilter(query);
    const format = EXPORT_FORMATS[query.format];
    const stamp = now.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/:/g, '-');
    return {
      contentType: format.contentType,
      filename: `gatehouse-audit-${stamp}.${format.extension}`,
      chunks: exportChunks(format, this.batches(organizationId, filter)),
    };
  }

  // Keyset walk (id > last) up to the newest id at the start: the export ends at what existed when it began,
  // however fast records keep arriving. Only one batch is in memory at a time.
  private async *batches(organizationId: string, filter: AuditRecordFilter): AsyncGenerator<AuditEvent[]> {
    const upTo = await this.records.lastId();
    let after = 0n;
    for (;;) {
      const rows = await this.records.oldestFirst(organizationId, filter, after, upTo, EXPORT_BATCH);
      if (rows.length > 0) yield rows.map(auditEvent);
      if (rows.length < EXPORT_BATCH) return;
      after = rows[rows.length - 1]!.id;
    }
  }
}
