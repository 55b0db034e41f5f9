import { BullModule } from '@nestjs/bullmq';
import { MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { QUEUES } from '@gatehouse/config';
import { ConnectionsModule } from '@gatehouse/connections';
import { BullRootModule } from '@gatehouse/db';
import { ApprovalProcessor } from './approvals/approval.processor';
import { McpAdmission } from './limits/mcp-admission';
import { McpLimits } from './limits/mcp-limits';
import { ThrottledCallAudit } from './limits/throttled-call.audit';
import { ApprovedCallRunner } from './approvals/approved-call.runner';
import { ManagementTools } from './management/management-tools';
import { McpDoorMiddleware } from './mcp-door.middleware';
import { McpFrontDoor } from './mcp-front-door';
import { McpController } from './mcp.controller';
import { OriginMiddleware } from './origin.middleware';
import { ClientRelay } from './relay/client-relay';
import { PendingClientRequests } from './relay/pending-client-requests';
import { ContentCatalog } from './session/content-catalog';
import { ContentHandlers } from './session/content-handlers';
import { McpServerFactory } from './session/mcp-server.factory';
import { ResourceSubscriptions } from './session/resource-subscriptions';
import { SessionStore } from './session/session-store';
import { SessionOutbox } from './session/session-outbox';
import { PolicyPreview } from './trial/policy-preview';
import { ToolTrial } from './trial/tool-trial';
import { McpSessions } from './session/mcp-sessions.service';
import { InputRounds } from './stateless/input-rounds';
import { StatelessMcp } from './stateless/stateless-mcp.service';
import { ToolCallExchange } from './session/tool-call-exchange';
import { CallTracker } from './tools/call-tracker';
import { DownstreamExecutor } from './tools/downstream-executor';
import { PolicyGate } from './tools/policy-gate';
import { ToolCallDispatcher } from './tools/tool-call.dispatcher';
import { WorkflowExecutor } from './workflows/workflow-executor';
import { WorkflowProcessor, WorkflowSweepSchedule } from './workflows/workflow.processor';

@Module({
  imports: [ConnectionsModule, BullRootModule, BullModule.registerQueue({ name: QUEUES.approvals }), BullModule.registerQueue({ name: QUEUES.workflows })],
  controllers: [McpController],
  providers: [
    McpFrontDoor,
    McpSessions,
    StatelessMcp,
    InputRounds,
    McpServerFactory,
    SessionStore,
    SessionOutbox,
    ContentCatalog,
    ContentHandlers,
    ResourceSubscriptions,
    ManagementTools,
    ToolCallDispatcher,
    DownstreamExecutor,
    PolicyGate,
    ToolCallExchange,
    PendingClientRequests,
    ClientRelay,
    CallTracker,
    ApprovedCallRunner,
    ApprovalProcessor,
    McpLimits,
    McpAdmission,
    ToolTrial,
    PolicyPreview,
    ThrottledCallAudit,
    WorkflowExecutor,
    WorkflowProcessor,
    WorkflowSweepSchedule,
  ],
  exports: [McpFrontDoor, McpSessions, CallTracker, ToolTrial, PolicyPreview],
})
export class McpModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    // What McpFrontDoor does not answer in front of Express comes here (it checks the same origin and door first).
    consumer.apply(OriginMiddleware, McpDoorMiddleware).forRoutes(McpController);
  }
}
