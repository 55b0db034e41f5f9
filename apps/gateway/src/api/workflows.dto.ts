import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';
import { ROLES, WORKFLOW_NAME_PATTERN, workflowSpecSchema } from '@gatehouse/config';
import { nullableText } from './schema-parts';

// Bodies of /api/v1/workflows. A definition is workflowSpecSchema both ways (the request is validated by it; the
// response lists the same fields plus its version), and a run's steps carry redacted arguments and a summary.

const json = z.unknown();

export class WorkflowSpecDto extends createZodDto(workflowSpecSchema) {}

export class WorkflowDto extends createZodDto(
  z.object({
    name: z.string(),
    description: z.string(),
    inputs: z.record(z.string(), json).describe('JSON Schema of the inputs'),
    steps: z.array(z.record(z.string(), json)).describe('As in WorkflowSpecDto'),
    roles: z.array(z.enum(ROLES)),
    approval: z.record(z.string(), json).optional(),
    schedule: z.record(z.string(), json).optional(),
    version: z.number().int(),
    configManaged: z.boolean().describe('Managed by the config file: change it there (PUT and DELETE answer 409)'),
    updatedAt: z.string(),
  }),
) {}

const RUN_STATUSES = ['queued', 'waiting_approval', 'running', 'succeeded', 'failed', 'cancelled'] as const;
const STEP_STATUSES = ['running', 'waiting_approval', 'succeeded', 'failed', 'skipped', 'interrupted', 'cancelled'] as const;

export class WorkflowRunDto extends createZodDto(
  z.object({
    id: z.uuid(),
    workflow: z.string(),
    version: z.number().int(),
    status: z.enum(RUN_STATUSES),
    trigger: z.string(),
    inputs: json,
    startedBy: z.string(),
    result: json.describe('Once succeeded: each step\'s status and text (first 1,000 characters) and structured result'),
    error: nullableText(),
    approvalRequestId: nullableText().describe('The pending approval request the run waits for'),
    scheduledFor: nullableText().describe("The schedule's fire time that started the run (trigger schedule); one run per fire time"),
    createdAt: z.string(),
    startedAt: nullableText(),
    finishedAt: nullableText(),
    steps: z.array(
      z.object({
        index: z.number().int(),
        id: z.string(),
        tool: z.string(),
        status: z.enum(STEP_STATUSES),
        callId: nullableText().describe("The step call's tools.call.* audit records"),
        approvalRequestId: nullableText(),
        arguments: json.describe('Redacted as the audit log redacts them'),
        result: json,
        error: nullableText(),
        startedAt: z.string(),
        finishedAt: nullableText(),
        durationMs: z.number().nullable(),
      }),
    ),
  }),
) {}

export class StartWorkflowRunDto extends createZodDto(
  z.object({ inputs: z.record(z.string(), z.unknown()).default({}).describe("The run's inputs, as the workflow's input schema says") }).strict(),
) {}

export class WorkflowRunListQueryDto extends createZodDto(
  z
    .object({
      workflow: z.string().regex(WORKFLOW_NAME_PATTERN).optional(),
      before: z.uuid().optional().describe('The id of the last run of the previous page'),
      limit: z.coerce.number().int().min(1).max(200).default(50),
    })
    .strict(),
) {}

export class WorkflowValidationDto extends createZodDto(
  z.object({ valid: z.boolean(), problems: z.array(z.object({ path: z.array(z.union([z.string(), z.number()])), message: z.string() })) }),
) {}
