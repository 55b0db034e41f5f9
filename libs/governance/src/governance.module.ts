import { BullModule } from '@nestjs/bullmq';
import { Global, Module } from '@nestjs/common';
import { QUEUES } from '@gatehouse/config';
import { ConnectionsModule } from '@gatehouse/connections';
import { BullRootModule } from '@gatehouse/db';
import { ApprovalEvents } from './approval/approval-events';
import { ApprovalService } from './approval/approval.service';
import { ApprovalViews } from './approval/approval.view';
import { BudgetAlerts } from './budget/budget-alerts.service';
import { BudgetCounters } from './budget/budget-counters';
import { BudgetSettings } from './budget/budget-settings.service';
import { BudgetService } from './budget/budget.service';
import { UsageRecorder } from './budget/usage.recorder';
import { UsageService } from './budget/usage.service';
import { EndpointService } from './endpoints/endpoint.service';
import { PolicyService } from './policy/policy.service';
import { ToolAccessPolicy } from './policy/tool-access.policy';
import { ConnectionToolsService } from './tools/connection-tools.service';
import { WebhookService } from './webhook/webhook.service';
import { ScheduledWorkflowRunner } from './workflow/scheduled-workflow.runner';
import { WorkflowSchedules } from './workflow/workflow-schedules';
import { WorkflowService } from './workflow/workflow.service';
import { WorkflowRunService } from './workflow/workflow-run.service';
import { WorkflowWake } from './workflow/workflow-wake';

const PROVIDERS = [EndpointService, PolicyService, ToolAccessPolicy, ApprovalService, ApprovalViews, ApprovalEvents, ConnectionToolsService, WorkflowWake, WorkflowSchedules, WorkflowService, WorkflowRunService, ScheduledWorkflowRunner];
const BUDGET_PROVIDERS = [BudgetSettings, BudgetCounters, BudgetAlerts, BudgetService, UsageRecorder, UsageService, WebhookService];

@Global()
@Module({
  imports: [BullRootModule, ConnectionsModule, BullModule.registerQueue({ name: QUEUES.approvals }), BullModule.registerQueue({ name: QUEUES.webhooks }), BullModule.registerQueue({ name: QUEUES.workflows })],
  providers: [...PROVIDERS, ...BUDGET_PROVIDERS],
  exports: [...PROVIDERS, ...BUDGET_PROVIDERS],
})
export class GovernanceModule {}
