import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';
import { BUDGET_PERIODS, BUDGET_SCOPES } from '@gatehouse/config';
import { timestamp } from './schema-parts';

// GET /api/v1/overview. The serializer strips what is not declared, so every field the page reads is listed.
const count = z.number().int().min(0);
const byOutcome = z.record(z.string(), count).describe('Calls by outcome (ok, denied, approval_required, ...): only outcomes that occurred');

const callsSchema = z.object({
  from: timestamp,
  to: timestamp,
  hours: z
    .array(z.object({ hour: timestamp.describe('Start of the hour (UTC)'), total: count, outcomes: byOutcome }))
    .describe('24 hours, oldest first; the last is the current hour so far'),
  total: count,
  outcomes: byOutcome,
  latency: z
    .object({ p50Ms: z.number().min(0).nullable(), p95Ms: z.number().min(0).nullable() })
    .describe('Over calls that went to their downstream (refusals left out); null when there were none'),
});

const budgetSchema = z.object({
  id: z.uuid(),
  scope: z.enum(BUDGET_SCOPES),
  connection: z.string().optional(),
  member: z.string().optional(),
  apiKey: z.string().optional().describe("The key's name"),
  period: z.enum(BUDGET_PERIODS),
  limitUsd: z.number(),
  current: z.object({ period: z.string(), start: timestamp, end: timestamp, spentUsd: z.number() }),
});

const connectionsSchema = z.object({
  total: count,
  unhealthy: z.array(z.object({ id: z.uuid(), name: z.string(), status: z.string() })).describe('Enabled and not connected, or with a stale tool list'),
  heldBackTools: count.describe('Changed or new tools awaiting review (GET /api/v1/tool-changes)'),
});

const sinksSchema = z.object({
  total: count,
  deadLetter: count.describe('Sinks whose retries ran out'),
  maxLag: count.describe('The largest number of chained records a sink has yet to deliver'),
  sinks: z.array(z.object({ id: z.uuid(), name: z.string(), state: z.enum(['active', 'dead_letter']), enabled: z.boolean(), lag: count })),
});

const chainSchema = z.object({
  chainedUpTo: count.describe('The highest chained seq (0 for an empty chain)'),
  unchained: count.describe('Appended, not yet chained'),
  checkpoint: z
    .object({
      seq: count,
      at: timestamp,
      cut: z.boolean().describe('A retention cut'),
      valid: z.boolean().describe('Its signature holds and it matches its record; GET /api/v1/audit/verify walks the whole chain'),
    })
    .nullable()
    .describe('The latest signed checkpoint; null before the first'),
});

export class OverviewDto extends createZodDto(
  z.object({
    generatedAt: timestamp,
    calls: callsSchema.describe('tools/call outcomes over the last 24 hours'),
    approvals: z.object({ pending: count }).nullable(),
    budgets: z.array(budgetSchema).nullable().describe('Spend this period against each budget; null: the caller may not read budgets'),
    connections: connectionsSchema.nullable().describe('Null: the caller may not read connections (auditors)'),
    sinks: sinksSchema.describe('SIEM delivery'),
    chain: chainSchema.describe('Audit chain status, without a full verification'),
  }),
  { codec: true },
) {}
