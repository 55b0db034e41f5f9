import { z } from 'zod';
import { linearRegExpProblem } from '../matching/linear-regexp';
import { durationSchema } from './duration';
import { CONNECTION_NAME_PATTERN } from './naming';
import { roleSchema } from './roles';

export const POLICY_EFFECTS = ['allow', 'deny', 'require_approval'] as const;
export type PolicyEffectName = (typeof POLICY_EFFECTS)[number];

// read: readOnlyHint true. write: anything else. destructive and open_world: marked so by destructiveHint /
// openWorldHint true (explicitly: unannotated tools are write, not destructive), or by an admin override.
export const TOOL_CLASSES = ['read', 'write', 'destructive', 'open_world'] as const;
export type ToolClassName = (typeof TOOL_CLASSES)[number];

// A value to compare arguments with is stored as JSON and compared recursively: a value nested deeper than any
// real argument would overflow the stack wherever it is serialized (saving it, showing it), so it is refused here.
const MAX_VALUE_DEPTH = 32;

/** Whether a JSON value nests no deeper than `max`, walked without recursion so that the check itself cannot overflow. */
function depthWithin(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (depth > max) return false;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return true;
}

// What a rule governs. A rule without `kinds` governs what its name lists name (`prompts`, `resources`), else tools:
// every rule written before prompts and resources existed keeps meaning exactly what it meant.
export const POLICY_KINDS = ['tool', 'prompt', 'resource'] as const;
export type PolicyKindName = (typeof POLICY_KINDS)[number];

const comparedValue = z.unknown().refine((value) => depthWithin(value, MAX_VALUE_DEPTH), `must nest no deeper than ${MAX_VALUE_DEPTH} levels`);

export const toolGlob = z.string().regex(/^[A-Za-z0-9_*?-]{1,128}$/, 'must be a tool name glob of letters, digits, "_", "-", "*" and "?"');

// One condition on the call's arguments; `path` is a dotted path into them ("team.id", "labels.0").
const argumentConditionSchema = z
  .object({
    path: z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'must be a dotted path such as team.id'),
    equals: comparedValue.optional(),
    in: z.array(comparedValue).min(1).max(1000).optional(),
    // Run by RE2 in linear time (see linear-regexp.ts), so RE2's syntax: no backreferences or lookaround.
    matches: z
      .string()
      .max(500)
      .superRefine((pattern, ctx) => {
        const problem = linearRegExpProblem(pattern);
        if (problem) ctx.addIssue({ code: 'custom', message: `must be a valid regular expression in RE2 syntax: ${problem}` });
      })
      .optional(),
  })
  .strict()
  .refine((c) => [c.equals !== undefined, c.in !== undefined, c.matches !== undefined].filter(Boolean).length === 1, {
    message: 'needs exactly one of equals, in or matches',
  });

// An exposed resource URI or template (scheme://<connection>/...) with "*" and "?": printable ASCII, no spaces.
const resourceGlob = z.string().regex(/^[\x21-\x7e]{1,512}$/, 'must be a resource URI glob of printable characters without spaces');

const NAME_LISTS = { tool: 'tools', prompt: 'prompts', resource: 'resources' } as const satisfies Record<PolicyKindName, string>;

export const policyMatchSchema = z
  .object({
    kinds: z.array(z.enum(POLICY_KINDS)).min(1).optional(),
    roles: z.array(roleSchema).min(1).optional(),
    users: z.array(z.email().transform((email) => email.toLowerCase())).min(1).optional(),
    apiKeys: z.array(z.string().min(1)).min(1).optional(),
    clients: z.array(z.string().min(1)).min(1).optional(),
    connections: z.array(z.string().regex(CONNECTION_NAME_PATTERN, 'must be a connection name')).min(1).optional(),
    tools: z.array(toolGlob).min(1).optional(),
    // Exposed prompt names (<connection>_<prompt>), as tools are named.
    prompts: z.array(toolGlob).min(1).optional(),
    resources: z.array(resourceGlob).min(1).optional(),
    toolClass: z.array(z.enum(TOOL_CLASSES)).min(1).optional(),
    arguments: z.array(argumentConditionSchema).min(1).optional(),
  })
  .strict()
  .superRefine((match, ctx) => {
    if (!match.kinds) return;
    const named = POLICY_KINDS.filter((kind) => match[NAME_LISTS[kind]] !== undefined);
    for (const kind of named) {
      if (!match.kinds.includes(kind)) ctx.addIssue({ code: 'custom', path: [NAME_LISTS[kind]], message: `names ${NAME_LISTS[kind]}, so kinds must include "${kind}"` });
    }
    // Each list narrows its own kind: a rule naming some kinds' items and not another's would reach all of that one.
    if (named.length > 0) {
      for (const kind of match.kinds.filter((candidate) => !named.includes(candidate))) {
        ctx.addIssue({ code: 'custom', path: ['kinds'], message: `names ${named.map((k) => NAME_LISTS[k]).join(' and ')} but no ${NAME_LISTS[kind]}: list the ${NAME_LISTS[kind]} too, or make it a rule of its own` });
      }
    }
  });

/** The kinds a rule governs: its `kinds`, else the kinds it names items of, else tools. */
export function policyKinds(match: PolicyMatch): readonly PolicyKindName[] {
  if (match.kinds) return match.kinds;
  const named = POLICY_KINDS.filter((kind) => match[NAME_LISTS[kind]] !== undefined);
  return named.length ? named : ['tool'];
}

export const approvalSettingsSchema = z
  .object({
    // Auditors only read: a rule naming them would wait for decisions nobody named can make.
    approverRoles: z
      .array(roleSchema.refine((role) => role !== 'auditor', 'auditors read approval requests; they cannot decide them'))
      .min(1)
      .default(['admin']),
    approvals: z.number().int().min(1).max(10).default(1),
    expiresIn: durationSchema.default(3600),
  })
  .strict();

export const policyRuleSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'must be 1-64 lower-case letters, digits and "-"'),
    description: z.string().max(500).optional(),
    match: policyMatchSchema.default({}),
    effect: z.enum(POLICY_EFFECTS),
    approval: approvalSettingsSchema.optional(),
  })
  .strict()
  .superRefine((rule, ctx) => {
    if (rule.approval && rule.effect !== 'require_approval') {
      ctx.addIssue({ code: 'custom', path: ['approval'], message: 'only a require_approval rule takes approval settings' });
    }
    // A read answers at once; there is no call to hold while someone approves it.
    if (rule.effect === 'require_approval' && policyKinds(rule.match).some((kind) => kind !== 'tool')) {
      ctx.addIssue({ code: 'custom', path: ['effect'], message: 'require_approval applies to tool calls only: prompts and resources are allowed or denied' });
    }
  })
  .transform((rule) => (rule.effect === 'require_approval' ? { ...rule, approval: rule.approval ?? approvalSettingsSchema.parse({}) } : rule));

export const toolClassOverrideSchema = z.object({ tools: toolGlob, class: z.enum(TOOL_CLASSES) }).strict();

export type PolicyMatch = z.infer<typeof policyMatchSchema>;
export type PolicyRuleSpec = z.infer<typeof policyRuleSchema>;
export type ApprovalSettings = z.infer<typeof approvalSettingsSchema>;
export type ToolClassOverrideSpec = z.infer<typeof toolClassOverrideSchema>;
