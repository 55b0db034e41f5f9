import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { QUEUES } from '@gatehouse/config';
import { BullRootModule } from '@gatehouse/db';
import { ConnectionEvents } from '../runtime/connection-events';
import { MaintenanceProcessor } from './maintenance.processor';
import { MaintenanceScheduler } from './maintenance.scheduler';

// The consumers. Imported by the worker app, and by the gateway unless GATEHOUSE_RUN_WORKERS=false.
@Module({
  imports: [BullRootModule, BullModule.registerQueue({ name: QUEUES.maintenance })],
  providers: [MaintenanceProcessor, MaintenanceScheduler, ConnectionEvents],
})
export class JobsModule {}
