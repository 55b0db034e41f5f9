import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';
import { apiKeyAccessSchema, POLICY_EFFECTS, roleSchema, TOOL_CLASSES } from '@gatehouse/config';
import { policyInputSchema } from '@gatehouse/governance';
import { nullableText, timestamp } from './schema-parts';

// Bodies of /api/v1/policies. The serializer strips what is not declared here, so every field the dashboard reads
// is listed. A rule's match and approval are described loosely: the request schema (PolicyDto) is their definition.

const jsonObject = z.record(z.string(), z.unknown());

const ruleSchema = z.object({
  name: z.string(),
  description: z.string().optional(),
  effect: z.enum(POLICY_EFFECTS),
  match: jsonObject.describe('Who and what the rule applies to, as in PolicyDto'),
  approval: jsonObject.optional().describe('require_approval rules: approverRoles, approvals, expiresIn (seconds)'),
});
const toolClassSchema = z.object({ tools: z.string(), class: z.enum(TOOL_CLASSES) });

export class StoredPolicyDto extends createZodDto(
  z.object({
    version: z.number().int(),
    defaultEffect: z.enum(['allow', 'deny']),
    configManaged: z.boolean().describe('Managed by the config file: change it there (PUT answers 409)'),
    rules: z.array(ruleSchema.extend({ id: z.uuid() })),
    toolClasses: z.array(toolClassSchema),
  }),
) {}

export class PolicyRevisionDto extends createZodDto(
  z.object({
    id: z.uuid(),
    version: z.number().int(),
    defaultEffect: z.enum(['allow', 'deny']),
    rules: z.object({ rules: z.array(ruleSchema), toolClasses: z.array(toolClassSchema) }).describe('The whole policy of this version'),
    changedBy: nullableText().describe('A principal subject (user:…, api_key:…) or config-file'),
    createdAt: timestamp,
  }),
  { codec: true },
) {}

export class PolicyValidationDto extends createZodDto(
  z.object({
    valid: z.literal(true).describe('An invalid draft is answered 400 with each problem and its path in `errors`'),
    rules: z.number().int(),
    toolClasses: z.number().int(),
  }),
) {}

export class PolicyPreviewRequestDto extends createZodDto(
  z
    .object({
      policy: policyInputSchema.optional().describe('The draft to preview; without it, the policy in force'),
      as: z
        .union([z.object({ member: z.uuid().describe("A member's user id") }).strict(), z.object({ apiKey: z.uuid().describe('An API key or OAuth grant id') }).strict()])
        .describe('Whose tools/list to preview'),
    })
    .strict(),
) {}

export class PolicyPreviewDto extends createZodDto(
  z.object({
    as: z.object({
      kind: z.enum(['api_key', 'oauth', 'session']).describe('session: a member as themselves, as in Try a tool'),
      name: z.string(),
      role: roleSchema,
      access: apiKeyAccessSchema,
      userEmail: nullableText(),
    }),
    policyVersion: z.number().int().nullable().describe('The version previewed; null for a draft'),
    tools: z.array(
      z.object({
        name: z.string(),
        connection: z.string().describe('gatehouse: one of Gatehouse\'s own tools'),
        listed: z.boolean(),
        hiddenBy: z.object({ name: z.string(), description: nullableText() }).nullable().describe('The rule that hides it'),
        approval: z.object({ approverRoles: z.array(roleSchema), approvals: z.number().int() }).nullable().describe('Listed, but each call needs these approvals'),
      }),
    ),
  }),
) {}
