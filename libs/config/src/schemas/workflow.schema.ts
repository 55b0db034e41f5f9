import { parseExpression } from 'cron-parser';
import { z } from 'zod';
import { approvalSettingsSchema } from './policy.schema';
import { roleSchema } from './roles';

// A workflow: named, ordered tool calls on the organization's connections, run in the background as the person
// who started it, each step through the same pipeline as a direct call. One schema for the config file's
// `workflows`, the admin API and gatehouse_create_workflow.
//
// References: a string argument "{{ inputs.team }}" or "{{ steps.items.structured.issues.0.id }}" is replaced
// when the step runs. A string that is one reference and nothing else takes the referenced value as it is (a
// number stays a number, an object an object); a reference inside other text is written into it (objects as
// JSON). What a reference may name: `inputs.<name>…`, `steps.<id>.structured…` (the step's structuredContent),
// `steps.<id>.text` (its text content joined), `steps.<id>.isError`, `steps.<id>.status`.

export const WORKFLOW_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,63}$/;
export const WORKFLOW_STEP_ID_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;
export const WORKFLOW_MAX_STEPS = 50;
export const WORKFLOW_STEP_TIMEOUT_DEFAULT_SECONDS = 300;

/** A JSON value as stored: bounded in depth and size by the body limits of wherever it comes from. */
const jsonValue: z.ZodType<unknown> = z.unknown();

// Whether a step runs: one test on a referenced value (a path as in references, without the braces).
export const workflowConditionSchema = z
  .object({
    ref: z.string().min(1).max(500),
    equals: jsonValue.optional(),
    notEquals: jsonValue.optional(),
    exists: z.boolean().optional(),
    truthy: z.boolean().optional(),
  })
  .strict()
  .refine((c) => [c.equals !== undefined, c.notEquals !== undefined, c.exists !== undefined, c.truthy !== undefined].filter(Boolean).length === 1, {
    message: 'needs exactly one of equals, notEquals, exists or truthy',
  });

export const workflowStepSchema = z
  .object({
    id: z.string().regex(WORKFLOW_STEP_ID_PATTERN, 'must be 1-64 lower-case letters, digits and "_", starting with a letter'),
    // The tool's exposed name, as tools/list shows it (connection prefix included).
    tool: z.string().min(1).max(128),
    arguments: z.record(z.string(), jsonValue).default({}),
    when: workflowConditionSchema.optional(),
    onError: z.enum(['stop', 'continue']).default('stop'),
    timeoutSeconds: z.number().int().min(1).max(3600).default(WORKFLOW_STEP_TIMEOUT_DEFAULT_SECONDS),
  })
  .strict();

export const workflowScheduleSchema = z
  .object({
    // Five fields (minute hour day-of-month month day-of-week), or six with seconds first. Parsed by cron-parser,
    // the parser BullMQ's job schedulers use, so what is accepted here is what fires.
    cron: z.string().max(100).superRefine((cron, ctx) => {
      const problem = cronProblem(cron);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
    timezone: z
      .string()
      .default('UTC')
      .refine((zone) => {
        try {
          new Intl.DateTimeFormat('en', { timeZone: zone });
          return true;
        } catch {
          return false;
        }
      }, 'must be an IANA time zone such as Europe/Berlin'),
    // The API key whose holder scheduled runs run as (by name, in this organization): checked as it is at each run.
    runAs: z.string().min(1).max(100),
  })
  .strict();

/** Why a cron expression would not fire, or null when it is one BullMQ accepts. */
export function cronProblem(cron: string): string | null {
  const fields = cron.trim().split(/\s+/).length;
  // cron-parser fills in missing fields; a four-field expression is more likely a mistake than a wish.
  if (fields !== 5 && fields !== 6) return `must have 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first; "${cron}" has ${fields}`;
  try {
    parseExpression(cron);
    return null;
  } catch (error) {
    return `is not a valid cron expression (${error instanceof Error ? error.message : String(error)})`;
  }
}

export const workflowSpecSchema = z
  .object({
    name: z.string().regex(WORKFLOW_NAME_PATTERN, 'must be 1-64 lower-case letters, digits and "-"'),
    description: z.string().max(2000).default(''),
    // A JSON Schema of type object for the inputs a run is started with.
    inputs: z.record(z.string(), jsonValue).default({ type: 'object', properties: {} }),
    steps: z.array(workflowStepSchema).min(1).max(WORKFLOW_MAX_STEPS),
    // Who may start a run; each step is still checked as a call of theirs.
    roles: z.array(roleSchema.refine((role) => role !== 'auditor', 'auditors call no tools, so they cannot run workflows')).min(1).default(['owner', 'admin', 'member']),
    // The whole run needs approval before its first step, decided like a policy's approval.
    approval: approvalSettingsSchema.optional(),
    schedule: workflowScheduleSchema.optional(),
  })
  .strict()
  .superRefine((spec, ctx) => {
    const seen = new Set<string>();
    spec.steps.forEach((step, index) => {
      if (seen.has(step.id)) ctx.addIssue({ code: 'custom', path: ['steps', index, 'id'], message: `step id "${step.id}" is used twice` });
      seen.add(step.id);
    });
  });

export type WorkflowSpec = z.infer<typeof workflowSpecSchema>;

/** A parsed spec as stored: in the form the schema reads (an approval's expiresIn written back as "3600s"). */
export function storedWorkflow(spec: WorkflowSpec): Record<string, unknown> {
  return JSON.parse(JSON.stringify({ ...spec, ...(spec.approval ? { approval: { ...spec.approval, expiresIn: `${spec.approval.expiresIn}s` } } : {}) })) as Record<string, unknown>;
}
export type WorkflowSpecInput = z.input<typeof workflowSpecSchema>;
export type WorkflowStep = z.infer<typeof workflowStepSchema>;
export type WorkflowCondition = z.infer<typeof workflowConditionSchema>;
export type WorkflowSchedule = z.infer<typeof workflowScheduleSchema>;
