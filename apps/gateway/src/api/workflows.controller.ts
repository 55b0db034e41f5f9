import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post, Put, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { ZodResponse } from 'nestjs-zod';
import { GatehouseError } from '@gatehouse/config';
import { WorkflowRunService, WorkflowService } from '@gatehouse/governance';
import { AuditedAs, Authenticated, CurrentPrincipal, Principal } from '@gatehouse/identity';
import { ApproveDto } from './api.dto';
import { StartWorkflowRunDto, WorkflowDto, WorkflowRunDto, WorkflowRunListQueryDto, WorkflowSpecDto, WorkflowValidationDto } from './workflows.dto';

const RunId = () => Param('id', new ParseUUIDPipe({ version: '4' }));

// Workflows and their runs. Definitions are admins'; runs are started by whoever the workflow's roles name, and
// seen and cancelled by their starter (admins and auditors see all).
@ApiTags('workflows')
@Controller('api/v1')
export class WorkflowsController {
  constructor(
    private readonly workflows: WorkflowService,
    private readonly workflowRuns: WorkflowRunService,
  ) {}

  @Get('workflows')
  @Authenticated({ action: 'read', subject: 'Workflow' })
  @ZodResponse({ status: 200, type: [WorkflowDto] })
  list(@CurrentPrincipal() principal: Principal) {
    return this.workflows.list(principal);
  }

  @Post('workflows/validate')
  @HttpCode(200)
  @Authenticated({ action: 'create', subject: 'Workflow' })
  @ZodResponse({ status: 200, type: WorkflowValidationDto, description: 'Checks a definition against the tools as they are now, without saving it' })
  validate(@CurrentPrincipal() principal: Principal, @Body() spec: WorkflowSpecDto) {
    const problems = this.workflows.problems(principal.organizationId, spec);
    return { valid: problems.length === 0, problems };
  }

  @Post('workflows')
  @Authenticated({ action: 'create', subject: 'Workflow' })
  @ZodResponse({ status: 201, type: WorkflowDto })
  create(@CurrentPrincipal() principal: Principal, @Body() spec: WorkflowSpecDto) {
    return this.workflows.save(principal, spec, 'create');
  }

  @Get('workflows/:name')
  @Authenticated({ action: 'read', subject: 'Workflow' })
  @ZodResponse({ status: 200, type: WorkflowDto })
  get(@CurrentPrincipal() principal: Principal, @Param('name') name: string) {
    return this.workflows.get(principal, name);
  }

  @Put('workflows/:name')
  @Authenticated({ action: 'update', subject: 'Workflow' })
  @ZodResponse({ status: 200, type: WorkflowDto, description: 'Saves a new version; runs keep the version they started on' })
  update(@CurrentPrincipal() principal: Principal, @Param('name') name: string, @Body() spec: WorkflowSpecDto) {
    if (spec.name !== name) throw GatehouseError.invalid(`The body names workflow "${spec.name}", the path "${name}"; a workflow is not renamed`);
    return this.workflows.save(principal, spec, 'update');
  }

  @Delete('workflows/:name')
  @HttpCode(204)
  @Authenticated({ action: 'delete', subject: 'Workflow' })
  async remove(@CurrentPrincipal() principal: Principal, @Param('name') name: string): Promise<void> {
    await this.workflows.remove(principal, name);
  }

  @Post('workflows/:name/runs')
  @Authenticated({ action: 'create', subject: 'WorkflowRun' })
  @ZodResponse({ status: 201, type: WorkflowRunDto, description: 'The run, queued (or waiting for its approval)' })
  start(@CurrentPrincipal() principal: Principal, @Param('name') name: string, @Body() body: StartWorkflowRunDto) {
    return this.workflowRuns.start(principal, name, body.inputs, principal.kind === 'session' ? 'dashboard' : 'api');
  }

  @Get('workflow-runs')
  @Authenticated({ action: 'read', subject: 'WorkflowRun' })
  @ZodResponse({ status: 200, type: [WorkflowRunDto], description: 'Newest first; the next page: `before` = the last id' })
  runs(@CurrentPrincipal() principal: Principal, @Query() query: WorkflowRunListQueryDto) {
    return this.workflowRuns.listRuns(principal, query);
  }

  @Get('workflow-runs/:id')
  @Authenticated({ action: 'read', subject: 'WorkflowRun' })
  @ZodResponse({ status: 200, type: WorkflowRunDto })
  run(@CurrentPrincipal() principal: Principal, @RunId() id: string) {
    return this.workflowRuns.getRun(principal, id);
  }

  @Post('workflow-runs/:id/cancel')
  @HttpCode(200)
  @Authenticated({ action: 'delete', subject: 'WorkflowRun' })
  @ZodResponse({ status: 200, type: WorkflowRunDto })
  cancel(@CurrentPrincipal() principal: Principal, @RunId() id: string) {
    return this.workflowRuns.cancel(principal, id);
  }

  @Post('workflow-runs/:id/approve')
  @HttpCode(200)
  @Authenticated({ action: 'update', subject: 'Approval' })
  @AuditedAs('admin.workflow_run.approved', { target: 'workflow_run' })
  @ZodResponse({ status: 200, type: WorkflowRunDto })
  approve(@CurrentPrincipal() principal: Principal, @RunId() id: string, @Body() body: ApproveDto) {
    return this.workflowRuns.decideRun(principal, id, true, body.reason);
  }
}
