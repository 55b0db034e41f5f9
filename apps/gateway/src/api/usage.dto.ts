import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';
import { BUDGET_PERIODS, BUDGET_SCOPES } from '@gatehouse/config';
import { USAGE_GROUPINGS } from '@gatehouse/governance';
import { nullableText, timestamp } from './schema-parts';

// Response bodies of /api/v1/usage, /api/v1/budgets and /api/v1/costs. The serializer strips what is not
// declared here, so every field the dashboard reads is listed. Amounts come twice: USD for people, micro-dollars
// (millionths of a US dollar) for exact sums.

const usd = () => z.number();
const micros = () => z.number().int();

const usageGroupSchema = z.object({
  connection: z.string().optional().describe('connection and tool groupings'),
  tool: z.string().optional().describe("tool grouping: the downstream tool's name"),
  member: nullableText().optional().describe("member grouping: the person's email; null for calls with no person behind the key"),
  calls: z.number().int(),
  costUsd: usd(),
  costMicros: micros(),
});

export class UsageReportDto extends createZodDto(
  z.object({
    from: timestamp,
    to: timestamp.describe('Exclusive'),
    groupBy: z.enum(USAGE_GROUPINGS),
    calls: z.number().int(),
    costUsd: usd(),
    costMicros: micros(),
    groups: z.array(usageGroupSchema),
  }),
  { codec: true },
) {}

const budgetSchema = z.object({
  id: z.uuid(),
  scope: z.enum(BUDGET_SCOPES),
  connection: z.string().optional().describe('connection budgets'),
  member: z.string().optional().describe("member budgets: the person's email"),
  apiKey: z.string().optional().describe("api_key budgets: the key's name"),
  period: z.enum(BUDGET_PERIODS),
  limitUsd: usd(),
  limitMicros: micros(),
  alertAt: z.array(z.number()).describe('Fractions of the limit at which budget.alert is sent'),
  configManaged: z.boolean().describe('Managed by the config file: change it there'),
  current: z.object({
    period: z.string().describe('2026-11 (month) or 2026-11-30 (day), UTC'),
    start: timestamp,
    end: timestamp.describe('Exclusive'),
    spentUsd: usd().describe('Recorded spend plus reservations in flight: what the limit is checked against'),
    spentMicros: micros(),
  }),
});

export class BudgetOverviewDto extends createZodDto(
  z.object({ configManaged: z.boolean(), budgets: z.array(budgetSchema) }),
  { codec: true },
) {}

export class BudgetBurnDownDto extends createZodDto(
  z.object({
    configManaged: z.boolean(),
    budgets: z.array(
      budgetSchema.extend({
        bucket: z.enum(['hour', 'day']).describe('hour for daily budgets, day for monthly ones'),
        inFlightUsd: usd().describe('Reserved by calls under way, not yet recorded'),
        inFlightMicros: micros(),
        points: z
          .array(z.object({ at: timestamp.describe("The bucket's start"), spentUsd: usd(), spentMicros: micros() }))
          .describe("Recorded spend accumulated from the period's start, one point per bucket up to now"),
      }),
    ),
  }),
  { codec: true },
) {}

export class CostsViewDto extends createZodDto(
  z.object({
    configManaged: z.boolean(),
    costs: z.array(
      z.object({
        connection: z.string(),
        tool: nullableText().describe("The downstream tool's name; null: every tool of the connection"),
        perCallUsd: usd(),
        perCallMicros: micros(),
        configManaged: z.boolean(),
      }),
    ),
  }),
) {}
