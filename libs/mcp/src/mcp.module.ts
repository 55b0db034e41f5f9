import { MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { ConnectionsModule } from '@gatehouse/connections';
import { ManagementTools } from './management/management-tools';
import { McpController } from './mcp.controller';
import { OriginMiddleware } from './origin.middleware';
import { McpServerFactory } from './session/mcp-server.factory';
import { McpSessions } from './session/mcp-sessions.service';
import { ToolCallExchange } from './session/tool-call-exchange';
import { CallTracker } from './tools/call-tracker';
import { DownstreamExecutor } from './tools/downstream-executor';
import { ToolCallDispatcher } from './tools/tool-call.dispatcher';

@Module({
  imports: [ConnectionsModule],
  controllers: [McpController],
  providers: [McpSessions, McpServerFactory, ManagementTools, ToolCallDispatcher, DownstreamExecutor, ToolCallExchange, CallTracker],
  exports: [McpSessions, CallTracker],
})
export class McpModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(OriginMiddleware).forRoutes(McpController);
  }
}
