import { Module } from '@nestjs/common';
import { ConnectionService } from './connection.service';
import { GatewayMetrics } from './metrics/gateway-metrics';
import { ToolChangeService } from './pinning/tool-change.service';
import { ToolPinning } from './pinning/tool-pinning';
import { ConnectionEvents } from './runtime/connection-events';
import { ConnectionRegistry } from './runtime/connection-registry';

@Module({
  providers: [ConnectionService, ConnectionRegistry, ConnectionEvents, GatewayMetrics, ToolPinning, ToolChangeService],
  exports: [ConnectionService, ConnectionRegistry, ConnectionEvents, GatewayMetrics, ToolChangeService],
})
export class ConnectionsModule {}
