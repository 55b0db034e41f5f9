import { z } from 'zod';
import { usdAmountSchema } from './money';
import { CONNECTION_NAME_PATTERN } from './naming';

export const BUDGET_SCOPES = ['organization', 'connection', 'member', 'api_key'] as const;
export type BudgetScopeName = (typeof BUDGET_SCOPES)[number];
export const BUDGET_PERIODS = ['day', 'month'] as const;
export type BudgetPeriodName = (typeof BUDGET_PERIODS)[number];

/** Events an organization's webhooks may subscribe to. */
export const WEBHOOK_EVENTS = ['budget.alert', 'approval.created', 'approval.decided'] as const;
export type WebhookEventName = (typeof WEBHOOK_EVENTS)[number];

const connectionName = z.string().regex(CONNECTION_NAME_PATTERN, 'must be a connection name');

// The field naming what a non-organization budget applies to.
const REF_FIELDS = { connection: 'connection', member: 'member', api_key: 'apiKey' } as const;
type RefField = (typeof REF_FIELDS)[keyof typeof REF_FIELDS];

function uniqueBy<T>(key: (item: T) => string, what: (item: T) => string) {
  return (items: T[], ctx: z.RefinementCtx) => {
    const seen = new Set<string>();
    items.forEach((item, index) => {
      const value = key(item);
      if (seen.has(value)) ctx.addIssue({ code: 'custom', path: [index], message: `duplicate ${what(item)}` });
      seen.add(value);
    });
  };
}

/**
 * The price of one call: of every tool of a connection, or of one tool (its downstream name, as the server
 * names it: `create_issue`, not `linear-prod_create_issue`). A tool's own price wins over its connection's.
 */
export const toolCostSchema = z
  .object({
    connection: connectionName,
    tool: z.string().min(1).max(200).optional(),
    perCallUsd: usdAmountSchema,
  })
  .strict();

export const toolCostsSchema = z
  .array(toolCostSchema)
  .max(1000)
  .superRefine(uniqueBy((c) => `${c.connection}\0${c.tool ?? '*'}`, (c) => `cost for ${c.tool ? `tool "${c.tool}" of ` : ''}connection "${c.connection}"`));

export const budgetSpecSchema = z
  .object({
    scope: z.enum(BUDGET_SCOPES),
    connection: connectionName.optional(),
    member: z.email().transform((email) => email.toLowerCase()).optional(),
    apiKey: z.string().min(1).max(100).optional(),
    period: z.enum(BUDGET_PERIODS),
    limitUsd: usdAmountSchema.refine((usd) => usd > 0, 'must be more than 0'),
    // Fractions of the limit at which budget.alert is sent, once per period each.
    alertAt: z
      .array(z.number().gt(0, 'must be more than 0').lte(1, 'must be at most 1'))
      .max(10)
      .default([0.8, 1])
      .superRefine(uniqueBy((t) => String(t), (t) => `threshold ${t}`))
      .transform((thresholds) => [...thresholds].sort((a, b) => a - b)),
  })
  .strict()
  .superRefine((budget, ctx) => {
    const wanted: RefField | undefined = budget.scope === 'organization' ? undefined : REF_FIELDS[budget.scope];
    for (const field of Object.values(REF_FIELDS)) {
      if (field === wanted && budget[field] === undefined) {
        ctx.addIssue({ code: 'custom', path: [field], message: `is required for a ${budget.scope} budget` });
      }
      if (field !== wanted && budget[field] !== undefined) {
        ctx.addIssue({ code: 'custom', path: [field], message: `only a ${field === 'apiKey' ? 'api_key' : field} budget takes ${field}` });
      }
    }
  });

export type ToolCostSpec = z.infer<typeof toolCostSchema>;
export type BudgetSpec = z.infer<typeof budgetSpecSchema>;

/** What a budget applies to besides its scope: a connection name, a member's email or an API key name ('' for the organization). */
export function budgetScopeRef(budget: Pick<BudgetSpec, 'scope' | 'connection' | 'member' | 'apiKey'>): string {
  return budget.scope === 'organization' ? '' : (budget[REF_FIELDS[budget.scope]] ?? '');
}

/** The spec fields naming a stored budget's scope reference (the inverse of budgetScopeRef). */
export function budgetScopeFields(scope: BudgetScopeName, ref: string): Partial<Record<RefField, string>> {
  return scope === 'organization' ? {} : { [REF_FIELDS[scope]]: ref };
}

export const budgetSpecsSchema = z
  .array(budgetSpecSchema)
  .max(200)
  .superRefine(
    uniqueBy(
      (b) => `${b.scope}\0${budgetScopeRef(b)}\0${b.period}`,
      (b) => `${b.period === 'day' ? 'daily' : 'monthly'} ${b.scope} budget${b.scope === 'organization' ? '' : ` for "${budgetScopeRef(b)}"`}`,
    ),
  );

/** A webhook without its secret (the config file names an environment variable for that). */
export const webhookFields = {
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be 1-63 lower-case letters, digits and "-"'),
  url: z.url({ protocol: /^https?$/, error: 'must be an http or https URL' }),
  events: z.array(z.enum(WEBHOOK_EVENTS)).min(1),
};
