import { Module } from '@nestjs/common';
import { ConnectionAdmission } from './admission/connection-admission';
import { ConnectionService } from './connection.service';
import { GatewayMetrics } from './metrics/gateway-metrics';
import { ToolChangeService } from './pinning/tool-change.service';
import { ToolPinning } from './pinning/tool-pinning';
import { ConnectionEvents } from './runtime/connection-events';
import { ConnectionRegistry } from './runtime/connection-registry';

@Module({
  providers: [ConnectionAdmission, ConnectionService, ConnectionRegistry, ConnectionEvents, GatewayMetrics, ToolPinning, ToolChangeService],
  exports: [ConnectionAdmission, ConnectionService, ConnectionRegistry, ConnectionEvents, GatewayMetrics, ToolChangeService],
})
export class ConnectionsModule {}
