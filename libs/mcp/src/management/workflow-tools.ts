import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { WORKFLOW_NAME_PATTERN, workflowSpecSchema } from '@gatehouse/config';
import { FINISHED_RUN_STATUSES } from '@gatehouse/db';
import { WorkflowRunService, WorkflowRunView, WorkflowService } from '@gatehouse/governance';
import { Principal } from '@gatehouse/identity';
import type { CallContext } from '../tools/tool-call.dispatcher';
import { jsonResult } from '../tools/tool-results';
import { inputSchema, ManagementTool } from './management-tool';

// How long gatehouse_execute_workflow waits for a run by default, and at most: a quick run's result comes back in
// the same call, so an assistant reports it in one turn; a longer one is followed with gatehouse_get_workflow_run.
const WAIT_DEFAULT_SECONDS = 20;
const WAIT_MAX_SECONDS = 120;
const POLL_MS = 200;

const name = z.string().regex(WORKFLOW_NAME_PATTERN, 'must be a workflow name').describe('The workflow name');
const runId = z.uuid().describe('The workflow run id');

/** Whether a run will not move without someone: finished, or waiting for a person's decision. */
function settled(run: WorkflowRunView): boolean {
  return run.status === 'waiting_approval' || FINISHED_RUN_STATUSES.includes(run.status);
}

/** Follows a run until it settles or the wait ends, telling the caller of each step that ended. */
async function follow(runs: WorkflowRunService, principal: Principal, run: WorkflowRunView, waitSeconds: number, context?: CallContext): Promise<WorkflowRunView> {
  const deadline = Date.now() + waitSeconds * 1000;
  let reported = 0;
  let current = run;
  while (!settled(current) && Date.now() < deadline && !context?.signal.aborted) {
    await sleep(POLL_MS);
    current = await runs.getRun(principal, run.id);
    const ended = current.steps.filter((step) => step.finishedAt !== null);
    for (const step of ended.slice(reported)) {
      await context?.sendProgress?.({ progress: step.index + 1, message: `Step ${step.index + 1} ("${step.id}") ${step.status}` });
    }
    reported = Math.max(reported, ended.length);
  }
  return current;
}

// Workflows for assistants: list and read them, start runs and follow them, cancel, approve; admins create them.
export function workflowTools(workflows: WorkflowService, runs: WorkflowRunService): ManagementTool[] {
  const list = z.object({}).strict();
  const byName = z.object({ name }).strict();
  const execute = z
    .object({
      name,
      inputs: z.record(z.string(), z.unknown()).default({}).describe("The run's inputs, as the workflow's input schema says"),
      waitSeconds: z.number().int().min(0).max(WAIT_MAX_SECONDS).default(WAIT_DEFAULT_SECONDS).describe('How long to wait for the run to finish before answering'),
    })
    .strict();
  const byRun = z.object({ id: runId }).strict();
  const approve = z.object({ id: runId, reason: z.string().max(1000).optional() }).strict();
  return [
    {
      definition: {
        name: 'gatehouse_list_workflows',
        title: 'List workflows',
        description: "Lists the organization's workflows you may run (admins: all), with their inputs and steps.",
        inputSchema: inputSchema(list),
        annotations: { readOnlyHint: true, openWorldHint: false },
      },
      permission: { action: 'read', subject: 'Workflow' },
      requesterFacing: true,
      input: list,
      run: async (principal) => jsonResult({ workflows: await workflows.list(principal) }),
    },
    {
      definition: {
        name: 'gatehouse_get_workflow',
        title: 'Get workflow',
        description: 'Shows one workflow: its inputs (JSON Schema), steps, who may run it and whether runs need approval.',
        inputSchema: inputSchema(byName),
        annotations: { readOnlyHint: true, openWorldHint: false },
      },
      permission: { action: 'read', subject: 'Workflow' },
      requesterFacing: true,
      input: byName,
      run: async (principal, input: z.infer<typeof byName>) => jsonResult({ workflow: await workflows.get(principal, input.name) }),
    },
    {
      definition: {
        name: 'gatehouse_create_workflow',
        title: 'Create workflow',
        description:
          'Saves a new workflow: ordered steps, each a tool call whose arguments may use "{{ inputs.x }}" and earlier steps\' ' +
          'results ("{{ steps.<id>.text }}", "{{ steps.<id>.structured.<path> }}"). Checked against the tools when saved. Admins only.',
        inputSchema: inputSchema(workflowSpecSchema),
        annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
      },
      permission: { action: 'create', subject: 'Workflow' },
      sensitive: true,
      input: workflowSpecSchema,
      run: async (principal, spec: z.infer<typeof workflowSpecSchema>) => jsonResult({ workflow: await workflows.save(principal, spec, 'create') }),
    },
    {
      definition: {
        name: 'gatehouse_execute_workflow',
        title: 'Execute workflow',
        description:
          'Starts a run of a workflow as you; each step is a call of yours, governed as if you made it. Answers with the run ' +
          '(its id at once) once it finishes, waits for an approval, or waitSeconds pass; follow it with gatehouse_get_workflow_run.',
        inputSchema: inputSchema(execute),
        // Its steps do whatever their tools do.
        annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
      },
      permission: { action: 'create', subject: 'WorkflowRun' },
      requesterFacing: true,
      input: execute,
      run: async (principal, input: z.infer<typeof execute>, context) => {
        const run = await runs.start(principal, input.name, input.inputs, 'mcp');
        return jsonResult({ run: await follow(runs, principal, run, input.waitSeconds, context) });
      },
    },
    {
      definition: {
        name: 'gatehouse_get_workflow_run',
        title: 'Get workflow run',
        description: "Shows a run: its status, each step's status, timing and result summary, and the run's result once finished.",
        inputSchema: inputSchema(byRun),
        annotations: { readOnlyHint: true, openWorldHint: false },
      },
      permission: { action: 'read', subject: 'WorkflowRun' },
      requesterFacing: true,
      input: byRun,
      run: async (principal, input: z.infer<typeof byRun>) => jsonResult({ run: await runs.getRun(principal, input.id) }),
    },
    {
      definition: {
        name: 'gatehouse_cancel_workflow_run',
        title: 'Cancel workflow run',
        description: 'Cancels a run you started (admins: any): no further step runs; a step in flight is abandoned.',
        inputSchema: inputSchema(byRun),
        annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      },
      permission: { action: 'delete', subject: 'WorkflowRun' },
      requesterFacing: true,
      input: byRun,
      run: async (principal, input: z.infer<typeof byRun>) => jsonResult({ run: await runs.cancel(principal, input.id) }),
    },
    {
      definition: {
        name: 'gatehouse_approve_workflow_run',
        title: 'Approve workflow run',
        description: 'Approves the approval a run waits for (the whole run, or its held step), as gatehouse_approve_request would. Not your own runs.',
        inputSchema: inputSchema(approve),
        annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
      },
      permission: { action: 'update', subject: 'Approval' },
      sensitive: true,
      input: approve,
      run: async (principal, input: z.infer<typeof approve>) => jsonResult({ run: await runs.decideRun(principal, input.id, true, input.reason) }),
    },
  ];
}
