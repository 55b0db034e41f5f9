import { z } from 'zod';
import { auditSettingsSchema, fileAuditSinkSchema } from '../schemas/audit.schema';
import { budgetSpecsSchema, toolCostsSchema, webhookFields } from '../schemas/budget.schema';
import { connectionSpecSchema } from '../schemas/connection-spec.schema';
import { durationSchema } from '../schemas/duration';
import { endpointSpecSchema } from '../schemas/endpoint.schema';
import { identityProviderFields } from '../schemas/identity-provider.schema';
import { policyRuleSchema, toolClassOverrideSchema } from '../schemas/policy.schema';
import { ORGANIZATION_SLUG_PATTERN } from '../schemas/naming';
import { platformSchema } from '../schemas/platform.schema';
import { redirectPatternProblem } from '../schemas/redirect-uri';
import { apiKeyAccessSchema, roleSchema } from '../schemas/roles';
import { workflowSpecSchema } from '../schemas/workflow.schema';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const envName = z.string().regex(ENV_NAME, 'must be an environment variable name');

const memberSchema = z
  .object({
    email: z.email().transform((email) => email.toLowerCase()),
    role: roleSchema,
    name: z.string().optional(),
    // A local account whose password comes from the environment.
    passwordEnv: envName.optional(),
  })
  .strict();

const apiKeySchema = z
  .object({
    name: z.string().min(1).max(100),
    role: roleSchema,
    access: apiKeyAccessSchema.default('read_write'),
    secretEnv: envName,
  })
  .strict();

function uniqueBy<T>(key: (item: T) => string, what: string) {
  return (items: T[], ctx: z.RefinementCtx) => {
    const seen = new Set<string>();
    items.forEach((item, index) => {
      const value = key(item);
      if (seen.has(value)) ctx.addIssue({ code: 'custom', path: [index], message: `duplicate ${what} "${value}"` });
      seen.add(value);
    });
  };
}

const identityProviderSchema = z.object({ ...identityProviderFields, clientSecretEnv: envName }).strict();

// The signing secret comes from the environment, like every other secret.
const webhookSchema = z.object({ ...webhookFields, secretEnv: envName }).strict();

const organizationSchema = z
  .object({
    slug: z.string().regex(ORGANIZATION_SLUG_PATTERN, 'must be lower-case letters, digits and "-"'),
    name: z.string().min(1).max(200),
    members: z.array(memberSchema).default([]).superRefine(uniqueBy((m) => m.email, 'member')),
    apiKeys: z.array(apiKeySchema).default([]).superRefine(uniqueBy((k) => k.name, 'API key name')),
    connections: z.array(connectionSpecSchema).default([]).superRefine(uniqueBy((c) => c.name, 'connection name')),
    identityProvider: identityProviderSchema.optional(),
    // Tool definition pinning: accept changed downstream tool definitions without an admin's review.
    autoAcceptToolChanges: z.boolean().default(false),
    // After a connection's first tool list, hold tools with new names for review too (a rename defeats a pin).
    holdNewTools: z.boolean().default(true),
    // Approvals: whether keys with no person behind them (this file's keys and the keys they mint) may decide
    // approval requests. Off: approvals come from people, each counted once however many keys they hold.
    keyApprovals: z.boolean().default(false),
    // Governance: the effect when no rule matches, the ordered rules, and tool class overrides.
    defaultEffect: z.enum(['allow', 'deny']).optional(),
    policies: z.array(policyRuleSchema).optional().superRefine((rules, ctx) => rules && uniqueBy((r: { name: string }) => r.name, 'policy name')(rules, ctx)),
    toolClasses: z.array(toolClassOverrideSchema).optional().superRefine((overrides, ctx) => overrides && uniqueBy((o: { tools: string }) => o.tools, 'tool class pattern')(overrides, ctx)),
    // Budgets and usage: prices per call, spending limits, and where alerts go. Declaring costs (or budgets)
    // hands the whole list to the file.
    costs: toolCostsSchema.optional(),
    budgets: budgetSpecsSchema.optional(),
    webhooks: z.array(webhookSchema).default([]).superRefine(uniqueBy((w) => w.name, 'webhook name')),
    // The audit log: detail level, fail mode, retention, redaction; declaring it hands these settings to the file.
    audit: auditSettingsSchema.optional(),
    // Where the audit log streams (SIEMs). The file owns the sinks it declares, by name.
    auditSinks: z.array(fileAuditSinkSchema).default([]).superRefine(uniqueBy((s) => s.name, 'audit sink name')),
    // Workflows, as the admin API takes them; the file owns the ones it declares, by name (read-only elsewhere).
    // Only their shape is checked here: connections may not be connected at boot, so their tools are checked
    // when a run starts (and when one is saved through the API or an assistant).
    workflows: z.array(workflowSpecSchema).default([]).superRefine(uniqueBy((w) => w.name, 'workflow name')),
    // Endpoints (/mcp/<name>), as the admin API takes them; the file owns the ones it declares, by name
    // (read-only elsewhere). Their keys are minted through the admin API or the management tools.
    endpoints: z.array(endpointSpecSchema).default([]).superRefine(uniqueBy((e) => e.name, 'endpoint name')),
  })
  .strict();

const redirectPatternSchema = z.string().superRefine((pattern, ctx) => {
  const problem = redirectPatternProblem(pattern);
  if (problem) ctx.addIssue({ code: 'custom', message: `redirect URI pattern ${problem}` });
});

const oauthSchema = z
  .object({
    redirectUriAllowlist: z.array(redirectPatternSchema).min(1).optional(),
    accessTokenTtl: durationSchema.optional(),
    refreshTokenTtl: durationSchema.optional(),
    // Clients whose client_id is an https URL (Client ID Metadata Documents): Gatehouse fetches that URL.
    clientMetadataDocuments: z
      .object({
        // Replaced by the deployment's one egress policy.
        allowPrivateHosts: z
          .never({ error: 'has moved: list the hosts in platform.egress.allow, which every outbound request obeys' })
          .optional(),
        // A PEM file of CA certificates trusted, besides the public roots, when fetching documents: for
        // deployments whose clients host their metadata behind an internal CA.
        extraCaFile: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export const configFileSchema = z
  .object({
    // The deployment operator's section: operators, egress, stdio commands, limits, verified domains.
    platform: platformSchema.default(platformSchema.parse({})),
    oauth: oauthSchema.default({}),
    organizations: z.array(organizationSchema).default([]).superRefine(uniqueBy((o) => o.slug, 'organization slug')),
  })
  .strict()
  .superRefine((config, ctx) => {
    const slugs = new Set(config.organizations.map((organization) => organization.slug));
    config.platform.organizations.forEach((organization, index) => {
      if (!slugs.has(organization.slug)) {
        ctx.addIssue({ code: 'custom', path: ['platform', 'organizations', index, 'slug'], message: `no organization "${organization.slug}" in this file` });
      }
    });
  });

export type DeclarativeOAuth = z.infer<typeof oauthSchema>;

export type DeclarativeConfig = z.infer<typeof configFileSchema>;
export type DeclarativeOrganization = DeclarativeConfig['organizations'][number];
export type DeclarativeIdentityProvider = z.infer<typeof identityProviderSchema>;
export type DeclarativeWebhook = z.infer<typeof webhookSchema>;
export type DeclarativeAuditSink = DeclarativeOrganization['auditSinks'][number];
