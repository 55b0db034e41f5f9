import { Module } from '@nestjs/common';
import { ConnectionService } from './connection.service';
import { GatewayMetrics } from './metrics/gateway-metrics';
import { ConnectionEvents } from './runtime/connection-events';
import { ConnectionRegistry } from './runtime/connection-registry';

@Module({
  providers: [ConnectionService, ConnectionRegistry, ConnectionEvents, GatewayMetrics],
  exports: [ConnectionService, ConnectionRegistry, ConnectionEvents, GatewayMetrics],
})
export class ConnectionsModule {}
