import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';
import { auditExportQuerySchema, auditListQuerySchema, CALL_STEPS } from '@gatehouse/audit';
import { AUDIT_SINK_FORMATS, AUDIT_SINK_TYPES } from '@gatehouse/config';
import { nullableText, timestamp } from './schema-parts';

export class AuditListQueryDto extends createZodDto(auditListQuerySchema) {}
export class AuditExportQueryDto extends createZodDto(auditExportQuerySchema) {}

// Responses. actor, target and data are records rather than objects with declared keys: the serializer keeps
// their every key in order, so a record read here still hashes to its chain hash.
const json = z.record(z.string(), z.unknown());

const auditEventSchema = z.object({
  eventId: z.uuid(),
  organizationId: z.uuid(),
  seq: nullableText().describe('Chain position (64-bit, as a string); null until chained'),
  occurredAt: z.iso.datetime(),
  kind: z.string(),
  actor: json.describe('{ type, id, name, ip, userAgent, user? }'),
  target: json.nullable(),
  outcome: nullableText(),
  traceId: nullableText(),
  callId: z.uuid().nullable(),
  data: json,
  prevHash: nullableText(),
  hash: nullableText(),
});

export class AuditPageDto extends createZodDto(
  z.object({
    items: z.array(auditEventSchema).describe('Newest first'),
    nextCursor: nullableText().describe('Older records: pass as cursor; null on the last page'),
    prevCursor: nullableText().describe('Newer records: pass as cursor; null on the first page'),
  }),
) {}

export class CallTimelineDto extends createZodDto(
  z.object({
    callId: z.uuid(),
    complete: z.boolean().describe('False while the call has no outcome record'),
    steps: z
      .array(
        z.object({
          step: z.enum(CALL_STEPS),
          at: z.iso.datetime().nullable().describe('Null for a step recorded within the outcome record (policy, budget)'),
          outcome: nullableText(),
          eventId: z.uuid().describe('The record the step comes from'),
          detail: json,
        }),
      )
      .describe('request → policy decision → approval → budget → downstream outcome, as far as the call went'),
    records: z.array(auditEventSchema).describe("The call's records and its approval request's, oldest first"),
  }),
) {}

export class AuditVerificationDto extends createZodDto(
  z.object({
    ok: z.boolean(),
    records: z.number().int().describe('Chained records walked'),
    chainedUpTo: z.number().int().describe('The highest seq seen (0 for an empty chain)'),
    unchained: z.number().int().describe('Appended but not yet chained: not covered by this answer'),
    prunedUpTo: z.number().int().optional().describe('Records up to this seq were removed by retention'),
    firstBrokenSeq: z.number().int().optional(),
    problem: z.object({ code: z.enum(['missing_record', 'link_mismatch', 'hash_mismatch', 'checkpoint_mismatch']), message: z.string() }).optional(),
    checkpoints: z.object({ verified: z.number().int(), failed: z.number().int(), firstFailedSeq: z.number().int().optional() }),
  }),
) {}


// Where a sink delivers, never its secret (the webhook secret or HEC token is not in the settings at all).
const sinkSettingsSchema = z.object({
  host: z.string().optional(),
  port: z.number().int().optional(),
  tls: z.boolean().optional(),
  url: z.string().optional(),
  index: z.string().optional(),
  sourcetype: z.string().optional(),
  batchSize: z.number().int(),
});

const auditSinkSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  type: z.enum(AUDIT_SINK_TYPES),
  format: z.enum(AUDIT_SINK_FORMATS),
  settings: sinkSettingsSchema,
  enabled: z.boolean(),
  configManaged: z.boolean().describe('From the config file: changed there (retry works either way)'),
  state: z.enum(['active', 'dead_letter']).describe('dead_letter: retries ran out; delivery waits for a retry'),
  cursor: z.string().describe('The last seq delivered (64-bit, as a string)'),
  lag: z.number().int().describe('Chained records not yet delivered'),
  failures: z.number().int().describe('Failed deliveries in a row'),
  lastError: nullableText(),
  lastAttemptAt: timestamp.nullable(),
  lastDeliveredAt: timestamp.nullable(),
});

export class AuditSinkDto extends createZodDto(auditSinkSchema, { codec: true }) {}
