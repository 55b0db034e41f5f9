import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';
import { apiKeyAccessSchema, BUDGET_PERIODS, BUDGET_SCOPES, roleSchema, TOOL_CLASSES } from '@gatehouse/config';
import { acceptToolChangeSchema, createConnectionSchema } from '@gatehouse/connections';
import { budgetsInputSchema, costsInputSchema, policyInputSchema, usageQuerySchema } from '@gatehouse/governance';
import { createApiKeySchema, identityProviderInputSchema, updateMemberSchema } from '@gatehouse/identity';
import { nullableText, timestamp } from './schema-parts';

export class CreateConnectionDto extends createZodDto(createConnectionSchema) {}
export class CreateApiKeyDto extends createZodDto(createApiKeySchema) {}
export class UpdateMemberDto extends createZodDto(updateMemberSchema) {}
export class IdentityProviderDto extends createZodDto(identityProviderInputSchema) {}
export class AcceptToolChangeDto extends createZodDto(acceptToolChangeSchema) {}
export class PolicyDto extends createZodDto(policyInputSchema) {}
export class CostsDto extends createZodDto(costsInputSchema) {}
export class BudgetsDto extends createZodDto(budgetsInputSchema) {}
export class UsageQueryDto extends createZodDto(usageQuerySchema) {}
export class ApprovalListQueryDto extends createZodDto(
  z
    .object({
      status: z.enum(['pending', 'approved', 'denied', 'expired', 'executed', 'failed', 'decided']).optional().describe('decided: every status but pending'),
      before: z.uuid().optional().describe('The id of the last request of the previous page: the next page is older'),
      limit: z.coerce.number().int().min(1).max(200).default(200),
    })
    .strict(),
) {}
export class ApproveDto extends createZodDto(z.object({ reason: z.string().max(1000).optional() }).strict()) {}
export class DenyDto extends createZodDto(z.object({ reason: z.string().min(1).max(1000).optional() }).strict()) {}

export class SessionDto extends createZodDto(
  z.object({
    user: z.object({ id: z.uuid(), email: z.string(), name: nullableText() }),
    organizations: z.array(z.object({ id: z.uuid(), slug: z.string(), name: z.string(), role: roleSchema })),
    csrfToken: z.string().describe('Send it as the X-CSRF-Token header with every change'),
    expiresAt: z.iso.datetime().describe('When the session ends at the latest'),
    idleTimeoutSeconds: z.number().int().describe('The session ends after this long without a request'),
    operator: z.boolean().describe('Whether the person is a deployment operator (platform.operators)'),
  }),
) {}


const approvalSchema = z.object({
  id: z.uuid(),
  status: z.enum(['pending', 'approved', 'denied', 'expired', 'executed', 'failed']),
  tool: z.string(),
  connection: z.string(),
  arguments: z.unknown().describe('The arguments, redacted as the audit log redacts them'),
  argumentsHash: z.string(),
  requester: z.string(),
  via: nullableText().describe('The client it came through: "ChatGPT", "the dashboard", \'API key "ci"\''),
  toolClasses: z.array(z.enum(TOOL_CLASSES)).describe("The tool's classes when it was asked for"),
  cost: z
    .object({
      perCallUsd: z.number(),
      perCallMicros: z.number().int(),
      budgets: z.array(
        z.object({
          id: z.uuid(),
          scope: z.enum(BUDGET_SCOPES),
          scopeRef: nullableText().describe('The connection, member or API key it limits; null for the organization'),
          period: z.enum(BUDGET_PERIODS),
          limitUsd: z.number(),
          spentUsd: z.number().describe('Spent this period so far'),
          afterUsd: z.number().describe('Spent this period if this call runs'),
          exceeds: z.boolean().describe('This call would take it past its limit (and be blocked when it runs)'),
        }),
      ),
    })
    .nullable()
    .describe('While pending: its price against each budget it would count toward'),
  rule: z.string(),
  approverRoles: z.array(roleSchema),
  requiredApprovals: z.number().int(),
  approvals: z.number().int(),
  decisions: z.array(z.object({ approver: z.string(), approved: z.boolean(), reason: nullableText(), at: timestamp })),
  expiresAt: timestamp,
  decidedAt: timestamp.nullable(),
  reason: nullableText(),
  executedAt: timestamp.nullable(),
  result: z.unknown().nullable().describe("The downstream's result, once the call ran"),
  createdAt: timestamp,
  viewer: z
    .object({
      mayDecide: z.boolean(),
      reason: nullableText().describe('Why the viewer may not decide it now'),
      requester: z.boolean().describe('The viewer made the request'),
      decided: z.enum(['approved', 'denied']).optional(),
    })
    .describe('What the person or key asking may do with it'),
});

export class ApprovalDto extends createZodDto(approvalSchema, { codec: true }) {}
/** A request as a decision leaves it. */
export class DecidedApprovalDto extends createZodDto(approvalSchema.omit({ viewer: true }), { codec: true }) {}

const apiKeySchema = z.object({
  id: z.uuid(),
  organizationId: z.uuid(),
  createdById: z.uuid().nullable().describe('The person behind the key (for a key minted by a key, the person behind that one)'),
  createdByKeyId: z.uuid().nullable(),
  kind: z.enum(['api_key', 'oauth_grant']).describe('oauth_grant: created when a person authorized an OAuth client ("MCP — <client>")'),
  name: z.string(),
  prefix: z.string(),
  role: roleSchema,
  access: apiKeyAccessSchema,
  configManaged: z.boolean(),
  createdAt: timestamp,
  lastUsedAt: timestamp.nullable(),
  revokedAt: timestamp.nullable(),
  expiresAt: timestamp.nullable().describe('After this the key no longer authenticates; null: never'),
  endpointId: z.uuid().nullable().describe('An endpoint key (or OAuth grant for an endpoint): usable at /mcp/<that endpoint> only'),
});

export class ApiKeyDto extends createZodDto(apiKeySchema, { codec: true }) {}
export class CreatedApiKeyDto extends createZodDto(apiKeySchema.extend({ secret: z.string().describe('Shown in this response only') }), { codec: true }) {}

const toolChangeSchema = z.object({
  name: z.string().describe('The exposed name, which the accept endpoint takes'),
  kind: z.enum(['new', 'changed']).describe('new: a name first seen after the first tool list; changed: a new definition'),
  downstreamName: z.string(),
  changedAt: z.iso.datetime(),
  pinned: z.object({ hash: z.string(), definition: z.record(z.string(), z.unknown()), acceptedAt: z.iso.datetime(), acceptedBy: nullableText() }),
  pending: z.object({ hash: z.string().describe('Accept the change by presenting this hash'), definition: z.record(z.string(), z.unknown()) }),
  diff: z.array(z.object({ path: z.string(), change: z.enum(['added', 'removed', 'changed']), before: z.unknown().optional(), after: z.unknown().optional() })),
});

export class ToolChangeDto extends createZodDto(toolChangeSchema) {}
export class OrganizationToolChangeDto extends createZodDto(toolChangeSchema.extend({ connection: z.object({ id: z.uuid(), name: z.string() }) })) {}
export class AcceptedToolChangeDto extends createZodDto(z.object({ name: z.string(), downstreamName: z.string(), hash: z.string(), acceptedBy: z.string() })) {}

export const memberSchema = z.object({
  userId: z.uuid(),
  email: z.string(),
  name: nullableText(),
  role: roleSchema,
  configManaged: z.boolean().describe('Managed by the config file: change it there'),
  createdAt: timestamp,
});

export class MemberDto extends createZodDto(memberSchema, { codec: true }) {}
export class RemovedMemberDto extends createZodDto(memberSchema.extend({ revokedKeyIds: z.array(z.uuid()) }), { codec: true }) {}
